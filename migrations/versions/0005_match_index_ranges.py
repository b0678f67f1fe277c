"""Match index v2: cells stored at H3 resolution 9 and read as ranges; rows clustered.

Revision ID: 0005_match_index_ranges
Revises: 0004_engage
Create Date: 2026-11-23 15:10:00

The index is derived data, so the table is rebuilt and refilled from the
technicians, their skills and their users here (same rules as
marketplace/find/match_index.py at the time of writing).
"""
from alembic import op
import sqlalchemy as sa

import marketplace.core.types


revision = '0005_match_index_ranges'
down_revision = '0004_engage'
branch_labels = None
depends_on = None

_RES = 9


def _create(clustered):
    op.create_table(
        'match_index',
        sa.Column('skill_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('cell', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('technician_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('lat', sa.Float(), nullable=False),
        sa.Column('lon', sa.Float(), nullable=False),
        sa.Column('travel_radius_km', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('skill_id', 'cell', 'technician_id', name=op.f('pk_match_index'),
                                **({'postgresql_include': ['level', 'lat', 'lon',
                                                          'travel_radius_km']}
                                   if clustered else {})),
        **({'sqlite_with_rowid': False} if clustered else {}),
    )
    op.create_index('ix_match_index_technician', 'match_index', ['technician_id'],
                    unique=False)


def _fill(res):
    import h3
    conn = op.get_bind()
    skills = {}
    for tid, sid, level in conn.execute(sa.text(
            "SELECT technician_id, skill_id, level FROM technician_skills")):
        skills.setdefault(tid, []).append((sid, level))
    profiles = conn.execute(sa.text(
        "SELECT t.id, t.lat, t.lon, t.travel_radius_km FROM technicians t "
        "JOIN users u ON u.id = t.user_id WHERE t.status = 'active' AND u.is_enabled "
        "AND t.lat IS NOT NULL AND t.lon IS NOT NULL")).all()
    table = sa.table('match_index', *(sa.column(c) for c in (
        'skill_id', 'cell', 'technician_id', 'level', 'lat', 'lon', 'travel_radius_km')))
    rows = []
    for tid, lat, lon, travel in profiles:
        cell = h3.str_to_int(h3.latlng_to_cell(lat, lon, res))
        base = {'cell': cell, 'technician_id': tid, 'lat': lat, 'lon': lon,
                'travel_radius_km': travel}
        rows.append({**base, 'skill_id': 0, 'level': 0})
        rows += [{**base, 'skill_id': sid, 'level': lvl} for sid, lvl in skills.get(tid, [])]
        if len(rows) >= 5000:
            conn.execute(table.insert(), rows)
            rows = []
    if rows:
        conn.execute(table.insert(), rows)


def upgrade():
    op.drop_index('ix_match_index_technician', table_name='match_index')
    op.drop_table('match_index')
    _create(clustered=True)
    _fill(_RES)


def downgrade():
    op.drop_index('ix_match_index_technician', table_name='match_index')
    op.drop_table('match_index')
    _create(clustered=False)
    _fill(6)
