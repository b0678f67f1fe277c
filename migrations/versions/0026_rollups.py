"""KPI rollups: each assignment's counted rows (facts) and their sums per firm and hour,
kept in the transaction of the change that moves them.

Revision ID: 0026_rollups
Revises: 0024_rate
Create Date: 2026-12-05 12:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0026_rollups'
down_revision = '0024_rate'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'kpi_facts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('assignment_id', sa.Integer(), nullable=False),
        sa.Column('firm_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('technician_id', sa.Integer(), nullable=True),
        sa.Column('site', sa.String(length=300), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('hour', sa.Integer(), nullable=False),
        sa.Column('s1', sa.Float(), nullable=False),
        sa.Column('s2', sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'],
                                name='fk_kpi_facts_assignment_id_assignments'),
        sa.PrimaryKeyConstraint('id', name='pk_kpi_facts'),
    )
    op.create_index('ix_kpi_facts_assignment_id', 'kpi_facts', ['assignment_id'])
    op.create_index('ix_kpi_facts_firm_hour', 'kpi_facts', ['firm_id', 'hour'])
    op.create_index('ix_kpi_facts_firm_technician_hour', 'kpi_facts',
                    ['firm_id', 'technician_id', 'hour'])
    op.create_index('ix_kpi_facts_firm_site_hour', 'kpi_facts', ['firm_id', 'site', 'hour'])
    op.create_table(
        'kpi_hourly',
        sa.Column('firm_id', sa.Integer(), nullable=False),
        sa.Column('hour', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.Column('s1', sa.Float(), nullable=False),
        sa.Column('s2', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('firm_id', 'hour', 'source', name='pk_kpi_hourly'),
    )


def downgrade():
    op.drop_table('kpi_hourly')
    op.drop_index('ix_kpi_facts_firm_site_hour', table_name='kpi_facts')
    op.drop_index('ix_kpi_facts_firm_technician_hour', table_name='kpi_facts')
    op.drop_index('ix_kpi_facts_firm_hour', table_name='kpi_facts')
    op.drop_index('ix_kpi_facts_assignment_id', table_name='kpi_facts')
    op.drop_table('kpi_facts')
