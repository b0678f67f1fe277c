"""Rate: two-way ratings and reports, observed events and disputes, technician and firm
scorecards, the platform means, a firm's notes and favourites, requirement sets' minimum
reliability.

Revision ID: 0024_rate
Revises: 0023_payouts
Create Date: 2026-12-05 12:00:00

"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.types

revision = '0024_rate'
down_revision = '0023_payouts'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('requirement_score_minimums',
    sa.Column('requirement_set_id', sa.Integer(), nullable=False),
    sa.Column('min_reliability', sa.Integer(), nullable=True),
    sa.Column('min_rating_x100', sa.Integer(), nullable=True),
    sa.Column('min_completed_jobs', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['requirement_set_id'], ['requirement_sets.id'], name=op.f('fk_requirement_score_minimums_requirement_set_id_requirement_sets')),
    sa.PrimaryKeyConstraint('requirement_set_id', name=op.f('pk_requirement_score_minimums'))
    )
    op.create_table('rate_platform_means',
    sa.Column('component', sa.String(length=12), nullable=False),
    sa.Column('mean', sa.Float(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('updated_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('component', name=op.f('pk_rate_platform_means'))
    )
    op.create_table('firm_scores',
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('n_posted', sa.Integer(), nullable=False),
    sa.Column('n_cancelled', sa.Integer(), nullable=False),
    sa.Column('n_late_cancelled', sa.Integer(), nullable=False),
    sa.Column('n_completed', sa.Integer(), nullable=False),
    sa.Column('n_paid', sa.Integer(), nullable=False),
    sa.Column('paid_seconds', sa.Integer(), nullable=False),
    sa.Column('n_paid_within_week', sa.Integer(), nullable=False),
    sa.Column('n_rated', sa.Integer(), nullable=False),
    sa.Column('stars_sum', sa.Integer(), nullable=False),
    sa.Column('updated_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_firm_scores_firm_id_firms')),
    sa.PrimaryKeyConstraint('firm_id', name=op.f('pk_firm_scores'))
    )
    op.create_table('favourites',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_favourites_created_by_id_users')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_favourites_firm_id_firms')),
    sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'], name=op.f('fk_favourites_technician_id_technicians')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_favourites')),
    sa.UniqueConstraint('firm_id', 'technician_id', name=op.f('uq_favourites_firm_id_technician_id'))
    )
    with op.batch_alter_table('favourites', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_favourites_technician_id'), ['technician_id'], unique=False)

    op.create_table('technician_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_technician_notes_author_id_users')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_technician_notes_firm_id_firms')),
    sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'], name=op.f('fk_technician_notes_technician_id_technicians')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_technician_notes')),
    sa.UniqueConstraint('firm_id', 'technician_id', name=op.f('uq_technician_notes_firm_id_technician_id'))
    )
    op.create_table('technician_scores',
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('arrival_w', sa.Float(), nullable=False),
    sa.Column('arrival_v', sa.Float(), nullable=False),
    sa.Column('commitment_w', sa.Float(), nullable=False),
    sa.Column('commitment_v', sa.Float(), nullable=False),
    sa.Column('completion_w', sa.Float(), nullable=False),
    sa.Column('completion_v', sa.Float(), nullable=False),
    sa.Column('sla_w', sa.Float(), nullable=False),
    sa.Column('sla_v', sa.Float(), nullable=False),
    sa.Column('rating_w', sa.Float(), nullable=False),
    sa.Column('rating_v', sa.Float(), nullable=False),
    sa.Column('growth', sa.Float(), nullable=False),
    sa.Column('n_on_time', sa.Integer(), nullable=False),
    sa.Column('n_late', sa.Integer(), nullable=False),
    sa.Column('n_no_show', sa.Integer(), nullable=False),
    sa.Column('n_kept', sa.Integer(), nullable=False),
    sa.Column('n_backout', sa.Integer(), nullable=False),
    sa.Column('n_late_backout', sa.Integer(), nullable=False),
    sa.Column('n_first_time', sa.Integer(), nullable=False),
    sa.Column('n_revisited', sa.Integer(), nullable=False),
    sa.Column('n_sla_met', sa.Integer(), nullable=False),
    sa.Column('n_sla_missed', sa.Integer(), nullable=False),
    sa.Column('n_completed', sa.Integer(), nullable=False),
    sa.Column('n_rated', sa.Integer(), nullable=False),
    sa.Column('stars_sum', sa.Integer(), nullable=False),
    sa.Column('reliability', sa.Float(), nullable=True),
    sa.Column('updated_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'], name=op.f('fk_technician_scores_technician_id_technicians')),
    sa.PrimaryKeyConstraint('technician_id', name=op.f('pk_technician_scores'))
    )
    op.create_table('rate_disputes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_rate_disputes_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_rate_disputes_decided_by_id_users')),
    sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'], name=op.f('fk_rate_disputes_technician_id_technicians')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_disputes')),
    sa.UniqueConstraint('assignment_id', 'technician_id', 'kind', name=op.f('uq_rate_disputes_assignment_id_technician_id_kind'))
    )
    with op.batch_alter_table('rate_disputes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rate_disputes_technician_id'), ['technician_id'], unique=False)

    op.create_table('rate_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('weight', sa.Float(), nullable=False),
    sa.Column('growth', sa.Float(), nullable=False),
    sa.Column('occurred_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_rate_events_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_rate_events_firm_id_firms')),
    sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'], name=op.f('fk_rate_events_technician_id_technicians')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rate_events')),
    sa.UniqueConstraint('assignment_id', 'technician_id', 'kind', name=op.f('uq_rate_events_assignment_id_technician_id_kind'))
    )
    with op.batch_alter_table('rate_events', schema=None) as batch_op:
        batch_op.create_index('ix_rate_events_technician_id_occurred_at', ['technician_id', 'occurred_at'], unique=False)

    op.create_table('ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=20), nullable=False),
    sa.Column('firm_id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('overall', sa.Integer(), nullable=False),
    sa.Column('quality', sa.Integer(), nullable=True),
    sa.Column('communication', sa.Integer(), nullable=True),
    sa.Column('professionalism', sa.Integer(), nullable=True),
    sa.Column('would_hire_again', sa.Boolean(), nullable=True),
    sa.Column('scope_clarity', sa.Integer(), nullable=True),
    sa.Column('site_readiness', sa.Integer(), nullable=True),
    sa.Column('payment_speed', sa.Integer(), nullable=True),
    sa.Column('site_not_ready', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('private_feedback', sa.Text(), nullable=False),
    sa.Column('created_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revealed_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('hidden_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('hidden_reason', sa.String(length=300), nullable=True),
    sa.Column('hidden_by_id', sa.Integer(), nullable=True),
    sa.Column('reply', sa.String(length=500), nullable=True),
    sa.Column('replied_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_ratings_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_ratings_author_id_users')),
    sa.ForeignKeyConstraint(['firm_id'], ['firms.id'], name=op.f('fk_ratings_firm_id_firms')),
    sa.ForeignKeyConstraint(['hidden_by_id'], ['users.id'], name=op.f('fk_ratings_hidden_by_id_users')),
    sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'], name=op.f('fk_ratings_technician_id_technicians')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ratings')),
    sa.UniqueConstraint('assignment_id', 'direction', name=op.f('uq_ratings_assignment_id_direction'))
    )
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.create_index('ix_ratings_firm_id_direction', ['firm_id', 'direction'], unique=False)
        batch_op.create_index('ix_ratings_technician_id_direction', ['technician_id', 'direction'], unique=False)

    op.create_table('rating_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('created_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', marketplace.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['rating_id'], ['ratings.id'], name=op.f('fk_rating_reports_rating_id_ratings')),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_rating_reports_reporter_id_users')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_rating_reports_resolved_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating_reports')),
    sa.UniqueConstraint('rating_id', 'reporter_id', name=op.f('uq_rating_reports_rating_id_reporter_id'))
    )


def downgrade():
    op.drop_table('rating_reports')
    with op.batch_alter_table('ratings', schema=None) as batch_op:
        batch_op.drop_index('ix_ratings_technician_id_direction')
        batch_op.drop_index('ix_ratings_firm_id_direction')

    op.drop_table('ratings')
    with op.batch_alter_table('rate_events', schema=None) as batch_op:
        batch_op.drop_index('ix_rate_events_technician_id_occurred_at')

    op.drop_table('rate_events')
    with op.batch_alter_table('rate_disputes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rate_disputes_technician_id'))

    op.drop_table('rate_disputes')
    op.drop_table('technician_scores')
    op.drop_table('technician_notes')
    with op.batch_alter_table('favourites', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_favourites_technician_id'))

    op.drop_table('favourites')
    op.drop_table('firm_scores')
    op.drop_table('rate_platform_means')
    op.drop_table('requirement_score_minimums')
