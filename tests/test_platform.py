"""Operability: headers, probes, request ids, config, logs, clock, money."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from marketplace.core import clock
from marketplace import create_app
from marketplace.errors import ValidationFailed
from marketplace.core.money import format_money, parse_amount


def test_pages_carry_security_headers_and_a_strict_csp(client):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in response.headers
    body = response.get_data(as_text=True)
    assert "<script>" not in body and "style=" not in body and "http" not in body.split("<body")[0].replace("http-equiv", "")


def test_session_cookie_is_httponly_and_lax(client, ctx):
    from tests import factories
    user = factories.technician()
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_health_and_readiness(client):
    assert client.get("/healthz").json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"]["database"] == "ok"


def test_readiness_reports_an_unreachable_redis(backend_app):
    backend_app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"
    try:
        ready = backend_app.test_client().get("/readyz")
        assert ready.status_code == 503 and ready.json["checks"]["redis"].startswith("error")
    finally:
        backend_app.config["REDIS_URL"] = None


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc12345-xyz"}) \
        .headers["X-Request-ID"] == "abc12345-xyz"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id; drop"}).headers["X-Request-ID"]
    assert len(made) == 32


def test_unknown_pages_are_html_for_people_and_json_for_the_api(client):
    page = client.get("/nowhere")
    assert page.status_code == 404 and "Not found" in page.get_data(as_text=True)
    api = client.get("/api/v1/nowhere", headers={"Authorization": "Bearer x"})
    assert api.status_code == 401 and api.json["error"]["code"] == "unauthenticated"


def test_production_refuses_to_start_without_secrets(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY.*DATABASE_URL"):
        create_app("production", {"SECRET_KEY": None})
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    app = create_app("production", {"SECRET_KEY": "s3cret", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["HSTS"]
    response = app.test_client().get("/healthz")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_production_logs_are_json_with_request_id(monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", "sqlite://")
    app = create_app("production", {"SECRET_KEY": "s", "SQLALCHEMY_DATABASE_URI": "sqlite://"})

    @app.get("/_log")
    def _log():
        app.logger.info("hello")
        return "ok"

    app.test_client().get("/_log", headers={"X-Request-ID": "req-12345678"})
    line = [l for l in capsys.readouterr().err.splitlines() if "hello" in l][0]
    record = json.loads(line)
    assert record["message"] == "hello" and record["request_id"] == "req-12345678"


def test_clock_travels_and_is_always_utc_aware():
    start = clock.now()
    assert start.tzinfo is not None
    clock.travel_to(datetime(2027, 1, 1, tzinfo=timezone.utc), freeze=True)
    assert clock.now() == datetime(2027, 1, 1, tzinfo=timezone.utc)
    clock.advance(timedelta(days=2))
    assert clock.today().isoformat() == "2027-01-03"
    clock.reset()
    assert abs(clock.now() - start) < timedelta(minutes=1)
    with pytest.raises(ValueError):
        clock.travel_to(datetime(2027, 1, 1))


@pytest.mark.parametrize("text,cents", [("12", 1200), ("$1,234.50", 123450), ("0.1", 10),
                                        ("19.99", 1999), (0.3, 30)])
def test_money_parses_to_integer_cents(text, cents):
    assert parse_amount(text) == cents


@pytest.mark.parametrize("text", ["abc", "1.234", "-5", "", "NaN"])
def test_money_rejects_bad_amounts(text):
    with pytest.raises(ValidationFailed):
        parse_amount(text)


def test_money_formats():
    assert format_money(123450) == "$1,234.50" and format_money(-5) == "-$0.05"


def test_datetimes_come_back_aware_from_every_backend(app, ctx):
    from tests import factories
    user = factories.technician()
    from marketplace.extensions import db
    db.session.expire_all()
    assert user.created_at.tzinfo is not None
