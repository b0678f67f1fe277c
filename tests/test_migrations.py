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
