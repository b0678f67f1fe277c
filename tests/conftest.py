"""Fixtures: one app per database backend, a clean database per test, helpers."""
from __future__ import annotations

import contextvars
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from marketplace.core import clock
from marketplace import create_app
from marketplace.extensions import db, limiter
from tests import services
from tests.browser import browser, live_server  # noqa: F401  (fixtures, defined once)

OUTPUT_DIR = Path(__file__).resolve().parent.parent / "test-output"
BACKENDS_RAN: set[str] = set()


def _backends() -> list[str]:
    names = ["sqlite"]
    if services.postgres_available() or services.REQUIRED:
        names.append("postgresql")
    return names


class IsolatedClient(FlaskClient):
    """Each request runs in a fresh context, as in production: no app context,
    `g` or database session leaks in from the test body."""

    def open(self, *args, **kwargs):
        return contextvars.Context().run(super().open, *args, **kwargs)


def make_app(database_url: str, **overrides):
    from flask_migrate import upgrade
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url,
                                 "STORAGE_DIR": str(OUTPUT_DIR / "uploads"), **overrides})
    app.test_client_class = IsolatedClient
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="session", params=_backends())
def backend_app(request, tmp_path_factory):
    """The app on one backend, schema built by the migrations themselves."""
    if request.param == "postgresql":
        if not services.postgres_available():
            services.missing("PostgreSQL")
        url = services.create_postgres_database()
        request.addfinalizer(lambda: services.drop_postgres_database(url))
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    app = make_app(url)
    app.config["BACKEND"] = request.param
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app(backend_app):
    BACKENDS_RAN.add(backend_app.config["BACKEND"])
    yield backend_app
    clock.reset()
    limiter.reset()
    _empty_all_tables(backend_app)


def _empty_all_tables(app) -> None:
    """Empty what the test filled. On PostgreSQL one statement finds the tables holding
    rows, which are deleted with triggers off (the ledger's own triggers refuse deletes;
    this is the test's cleanup, not a business path), and every sequence starts again at
    1: a TRUNCATE of all tables cost about half a second per test."""
    with app.app_context():
        db.session.remove()
        tables = [t.name for t in db.metadata.sorted_tables]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                probe = " UNION ALL ".join(
                    f"SELECT '{t}' WHERE EXISTS (SELECT 1 FROM \"{t}\")" for t in tables)
                filled = set(conn.execute(text(probe)).scalars())
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                for name in reversed(tables):
                    if name in filled:
                        conn.execute(text(f'DELETE FROM "{name}"'))
                conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                                  "JOIN pg_namespace n ON n.oid = c.relnamespace "
                                  "WHERE c.relkind = 'S' AND n.nspname = current_schema()"))
            else:
                for name in reversed(tables):
                    conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
def ctx(app):
    """An app context for arranging data and checking results in a test body."""
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


class Auth:
    def __init__(self, client):
        self.client = client

    def login(self, email: str, password: str = "correct-horse-9"):
        response = self.client.post("/login", data={"email": email, "password": password})
        assert response.status_code == 302, f"login failed for {email}"
        return response

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return Auth(client)


def pytest_terminal_summary(terminalreporter):
    ran = ", ".join(sorted(BACKENDS_RAN)) or "none"
    terminalreporter.write_line(f"database backends exercised: {ran}")
    for name, used in sorted(services.USED.items()):
        terminalreporter.write_line(f"{name} exercised: {'yes' if used else 'no'}")


@pytest.fixture
def smtp_server(app):
    """Mail goes over real SMTP to a local server for this test."""
    from tests.smtp import SmtpServer
    server = SmtpServer().start()
    app.config["SMTP_URL"] = server.url
    yield server
    app.config["SMTP_URL"] = None
    server.stop()
