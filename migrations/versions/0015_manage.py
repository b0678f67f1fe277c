"""Manage: visits, task answers and proof, change requests, work records, applied actions;
a check-in radius on assignments.

Revision ID: 0015_manage
Revises: 0010_money_currency
Create Date: 2026-12-05 10:00:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.types

revision = '0015_manage'
down_revision = '0010_money_currency'
branch_labels = None
depends_on = None

UTC = marketplace.core.types.UTCDateTime(timezone=True)
OPEN_VISIT = sa.text("checkout_at IS NULL")


def _enum(*values):
    return sa.Enum(*values, native_enum=False, length=20, create_constraint=False)


def upgrade():
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('geofence_m', sa.Integer(), nullable=True))

    op.create_table(
        'manage_settings',
        sa.Column('firm_id', sa.Integer(), nullable=False),
        sa.Column('early_minutes', sa.Integer(), nullable=False),
        sa.Column('late_minutes', sa.Integer(), nullable=False),
        sa.Column('geofence_m', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['firm_id'], ['firms.id'],
                                name=op.f('fk_manage_settings_firm_id_firms')),
        sa.PrimaryKeyConstraint('firm_id', name=op.f('pk_manage_settings')),
    )
    op.create_table(
        'work_records',
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('arrival', _enum('on_time', 'late', 'no_show'), nullable=True),
        sa.Column('first_checkin_at', UTC, nullable=True),
        sa.Column('no_show_at', UTC, nullable=True),
        sa.Column('revisits', sa.Integer(), nullable=False),
        sa.Column('submitted_at', UTC, nullable=True),
        sa.Column('submit_note', sa.Text(), nullable=True),
        sa.Column('revisit_reason', sa.Text(), nullable=True),
        sa.Column('approved_at', UTC, nullable=True),
        sa.Column('approved_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                                name=op.f('fk_work_records_assignment_id_assignments')),
        sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'],
                                name=op.f('fk_work_records_technician_id_technicians')),
        sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'],
                                name=op.f('fk_work_records_approved_by_id_users')),
        sa.PrimaryKeyConstraint('assignment_id', name=op.f('pk_work_records')),
    )
    op.create_index('ix_work_records_technician_id', 'work_records', ['technician_id'])
    op.create_table(
        'visits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('checkin_at', UTC, nullable=False),
        sa.Column('checkin_received_at', UTC, nullable=False),
        sa.Column('checkin_lat', sa.Float(), nullable=True),
        sa.Column('checkin_lon', sa.Float(), nullable=True),
        sa.Column('checkin_accuracy_m', sa.Float(), nullable=True),
        sa.Column('checkin_distance_m', sa.Integer(), nullable=True),
        sa.Column('checkin_geofence', _enum('inside', 'outside', 'unverified'), nullable=False),
        sa.Column('checkin_reason', sa.String(length=300), nullable=True),
        sa.Column('checkout_at', UTC, nullable=True),
        sa.Column('checkout_received_at', UTC, nullable=True),
        sa.Column('checkout_lat', sa.Float(), nullable=True),
        sa.Column('checkout_lon', sa.Float(), nullable=True),
        sa.Column('checkout_accuracy_m', sa.Float(), nullable=True),
        sa.Column('checkout_distance_m', sa.Integer(), nullable=True),
        sa.Column('checkout_geofence', _enum('inside', 'outside', 'unverified'), nullable=True),
        sa.Column('checkout_reason', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                                name=op.f('fk_visits_assignment_id_assignments')),
        sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'],
                                name=op.f('fk_visits_technician_id_technicians')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_visits')),
        sa.UniqueConstraint('assignment_id', 'number', name=op.f('uq_visits_assignment_id_number')),
    )
    op.create_index('ix_visits_assignment_id', 'visits', ['assignment_id'])
    op.create_index('uq_visits_open', 'visits', ['assignment_id'], unique=True,
                    sqlite_where=OPEN_VISIT, postgresql_where=OPEN_VISIT)
    op.create_table(
        'task_answers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('task_key', sa.String(length=20), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('value', sa.JSON(), nullable=False),
        sa.Column('answered_at', UTC, nullable=False),
        sa.Column('received_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                                name=op.f('fk_task_answers_assignment_id_assignments')),
        sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'],
                                name=op.f('fk_task_answers_technician_id_technicians')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_task_answers')),
        sa.UniqueConstraint('assignment_id', 'task_key', name=op.f('uq_task_answers_assignment_id_task_key')),
    )
    op.create_index('ix_task_answers_assignment_id', 'task_answers', ['assignment_id'])
    op.create_table(
        'proof_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('task_key', sa.String(length=20), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('storage_key', sa.String(length=80), nullable=False),
        sa.Column('thumb_key', sa.String(length=80), nullable=True),
        sa.Column('mime', sa.String(length=40), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('captured_at', UTC, nullable=False),
        sa.Column('lat', sa.Float(), nullable=True),
        sa.Column('lon', sa.Float(), nullable=True),
        sa.Column('signer_name', sa.String(length=120), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                                name=op.f('fk_proof_files_assignment_id_assignments')),
        sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'],
                                name=op.f('fk_proof_files_technician_id_technicians')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_proof_files')),
    )
    op.create_index('ix_proof_files_task', 'proof_files', ['assignment_id', 'task_key'])
    op.create_table(
        'change_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('kind', _enum('expense', 'budget_increase'), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.Column('amount_cents', sa.Integer(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.Column('receipt_key', sa.String(length=80), nullable=True),
        sa.Column('receipt_mime', sa.String(length=40), nullable=True),
        sa.Column('status', _enum('pending', 'approved', 'declined'), nullable=False),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('decided_at', UTC, nullable=True),
        sa.Column('decision_reason', sa.String(length=500), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                                name=op.f('fk_change_requests_assignment_id_assignments')),
        sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'],
                                name=op.f('fk_change_requests_technician_id_technicians')),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'],
                                name=op.f('fk_change_requests_decided_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_change_requests')),
    )
    op.create_index('ix_change_requests_assignment', 'change_requests',
                    ['assignment_id', 'status'])
    op.create_table(
        'applied_actions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=30), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.Integer(), nullable=False),
        sa.Column('result', sa.JSON(), nullable=True),
        sa.Column('received_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'],
                                name=op.f('fk_applied_actions_technician_id_technicians')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_applied_actions')),
        sa.UniqueConstraint('technician_id', 'key', name=op.f('uq_applied_actions_technician_id_key')),
    )


def downgrade():
    op.drop_table('applied_actions')
    op.drop_index('ix_change_requests_assignment', table_name='change_requests')
    op.drop_table('change_requests')
    op.drop_index('ix_proof_files_task', table_name='proof_files')
    op.drop_table('proof_files')
    op.drop_index('ix_task_answers_assignment_id', table_name='task_answers')
    op.drop_table('task_answers')
    op.drop_index('uq_visits_open', table_name='visits')
    op.drop_index('ix_visits_assignment_id', table_name='visits')
    op.drop_table('visits')
    op.drop_index('ix_work_records_technician_id', table_name='work_records')
    op.drop_table('work_records')
    op.drop_table('manage_settings')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_column('geofence_m')
