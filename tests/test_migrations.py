"""Migrations are the only way the schema changes: they run both ways on both
databases, and they describe exactly what the models declare."""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from marketplace import create_app
from marketplace.extensions import db
from tests import services


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path):
    if request.param == "postgresql":
        if not services.postgres_available():
            services.missing("PostgreSQL")
        url = services.create_postgres_database("mp_migrations")
        yield url
        services.drop_postgres_database(url)
    else:
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"


def test_upgrade_from_empty_matches_models_then_downgrades_to_base(empty_database):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True,
                                                             "render_as_batch": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        downgrade(revision="base")
        left = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert left == set()
        upgrade()  # and back up again cleanly
        assert set(db.metadata.tables) <= set(inspect(db.engine).get_table_names())
        db.engine.dispose()


def test_match_index_migration_refills_the_index_from_technicians(empty_database):
    """0005 and 0008 rebuild the derived index: existing technicians stay matchable."""
    from sqlalchemy import text

    from marketplace.find.geo import cell_of
    from marketplace.find.match_index import index_rows
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(revision="0004_engage")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (id, email, name, password_hash, kind, is_enabled, "
                "session_version, created_at) VALUES (7, 't@x.example', 'T', 'x', "
                "'technician', :yes, 1, '2026-01-01 00:00:00+00:00')"), {"yes": True})
            conn.execute(text(
                "INSERT INTO skills (id, slug, name, category) VALUES (3, 'cat6', 'Cat 6', 'x')"))
            conn.execute(text(
                "INSERT INTO technicians (id, user_id, headline, bio, timezone, lat, lon, "
                "travel_radius_km, hourly_rate_cents, currency, availability, status, "
                "created_at, updated_at) VALUES (7, 7, '', '', 'UTC', 32.78, -96.8, 40, 5000, "
                "'USD', '{}', 'active', '2026-01-01 00:00:00+00:00', "
                "'2026-01-01 00:00:00+00:00')"))
            conn.execute(text("INSERT INTO technician_skills (id, technician_id, skill_id, level) "
                              "VALUES (1, 7, 3, 2)"))
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT skill_id, cell, technician_id, level "
                                     "FROM match_index ORDER BY skill_id")).all()
        assert [tuple(r) for r in rows] == [(0, cell_of(32.78, -96.8), 7, 0),
                                            (3, cell_of(32.78, -96.8), 7, 2)]
        # 0008 fills the vector columns exactly as the application writes them.
        columns = ["skill_id", "x", "y", "z", "cos_travel", "skills"]
        with db.engine.connect() as conn:
            got = conn.execute(text(f"SELECT {', '.join(columns)} FROM match_index "
                                    "ORDER BY skill_id")).all()
        want = [[row[c] for c in columns] for row in index_rows(7, 32.78, -96.8, 40, [(3, 2)])]
        assert len(got) == len(want)
        for have, expected in zip(got, want):
            assert list(have) == pytest.approx(expected, rel=1e-12)
        db.engine.dispose()
