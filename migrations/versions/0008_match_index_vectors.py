"""Match index v3: unit vectors, travel cosines and skill signatures.

Each row carries the location as a unit vector, the travel radius as a cosine
and a signature of the technician's skills, so a search tests distance and
skills in SQL by arithmetic alone.

Revision ID: 0008_match_index_vectors
Revises: 0007_notifications_outbox
Create Date: 2026-12-04 17:00:00

The index is derived data, so the table is rebuilt and refilled from the
technicians, their skills and their users here (same rules as
marketplace/find/match_index.py at the time of writing).
"""
import math

from alembic import op
import sqlalchemy as sa


revision = '0008_match_index_vectors'
down_revision = '0007_notifications_outbox'
branch_labels = None
depends_on = None

_RES = 9
_EARTH_RADIUS_KM = 6371.0088
_V2 = ['level', 'lat', 'lon', 'travel_radius_km']
_V3 = _V2 + ['x', 'y', 'z', 'cos_travel', 'skills']


def _create(vectors):
    columns = [
        sa.Column('skill_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('cell', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('technician_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('lat', sa.Float(), nullable=False),
        sa.Column('lon', sa.Float(), nullable=False),
        sa.Column('travel_radius_km', sa.Integer(), nullable=False),
    ]
    if vectors:
        columns += [sa.Column(c, sa.Float(), nullable=False)
                    for c in ('x', 'y', 'z', 'cos_travel')]
        columns.append(sa.Column('skills', sa.BigInteger(), nullable=False))
    op.create_table(
        'match_index', *columns,
        sa.PrimaryKeyConstraint('skill_id', 'cell', 'technician_id', name=op.f('pk_match_index'),
                                postgresql_include=_V3 if vectors else _V2),
        sqlite_with_rowid=False,
    )
    op.create_index('ix_match_index_technician', 'match_index', ['technician_id'],
                    unique=False)


def _fill(vectors):
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
    names = ['skill_id', 'cell', 'technician_id'] + (_V3 if vectors else _V2)
    table = sa.table('match_index', *(sa.column(c) for c in names))
    rows = []
    for tid, lat, lon, travel in profiles:
        base = {'cell': h3.str_to_int(h3.latlng_to_cell(lat, lon, _RES)), 'technician_id': tid,
                'lat': lat, 'lon': lon, 'travel_radius_km': travel}
        own = skills.get(tid, [])
        if vectors:
            p, q = math.radians(lat), math.radians(lon)
            bits = 0
            for sid, _ in own:
                bits |= 1 << (sid % 63)
            base.update(x=math.cos(p) * math.cos(q), y=math.cos(p) * math.sin(q),
                        z=math.sin(p), skills=bits,
                        cos_travel=math.cos(min(math.pi, travel / _EARTH_RADIUS_KM)))
        rows += [{**base, 'skill_id': sid, 'level': lvl} for sid, lvl in [(0, 0)] + own]
        if len(rows) >= 5000:
            conn.execute(table.insert(), rows)
            rows = []
    if rows:
        conn.execute(table.insert(), rows)


def _rebuild(vectors):
    op.drop_index('ix_match_index_technician', table_name='match_index')
    op.drop_table('match_index')
    _create(vectors)
    _fill(vectors)


def upgrade():
    _rebuild(vectors=True)


def downgrade():
    _rebuild(vectors=False)
