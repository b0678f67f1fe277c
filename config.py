"""Configuration classes, fed by environment variables.

`make run` uses DevelopmentConfig: SQLite under instance/, Celery eager, memory
rate limits, mail printed to the log. Production refuses to start without the
secrets it needs.
"""
from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def normalise_database_url(url: str) -> str:
    """Let people paste `postgres://` or `postgresql://`; we drive psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    ENV_NAME = "base"
    SECRET_KEY = _env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = normalise_database_url(
        _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'marketplace.sqlite3'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    REDIS_URL = _env("REDIS_URL")
    CELERY_EAGER = REDIS_URL is None
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = _env("LOGIN_RATE_LIMIT", "10 per minute")
    WTF_CSRF_TIME_LIMIT = None
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 12
    MAX_CONTENT_LENGTH = 12 * 1024 * 1024
    UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    # Forms with files may be larger, so that an oversized file is refused next to its
    # field with the rest of the form kept; only UPLOAD_MAX_BYTES + 1 of it is kept.
    UPLOAD_REQUEST_MAX_BYTES = 100 * 1024 * 1024
    STORAGE_DIR = _env("STORAGE_DIR", str(INSTANCE_DIR / "uploads"))
    SMTP_URL = _env("SMTP_URL")
    MAIL_FROM = _env("MAIL_FROM", "Onsite Marketplace <no-reply@onsite.example>")
    PUBLIC_BASE_URL = _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000")
    GEOCODER_USER_AGENT = _env("GEOCODER_USER_AGENT")
    JSON_LOGS = False
    HSTS = False
    INVITATION_TTL_DAYS = 7
    CELERY_QUEUE = _env("CELERY_QUEUE", "marketplace")
    MANAGE_CLOCK_SKEW_SECONDS = int(_env("MANAGE_CLOCK_SKEW_SECONDS", "120"))
    # Webhooks to loopback and private addresses: development and tests only.
    WEBHOOKS_ALLOW_PRIVATE = _env("WEBHOOKS_ALLOW_PRIVATE", "0") == "1"
    # Map tiles for the operations board, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png;
    # without one the board draws its markers on a plain background.
    MAP_TILE_URL = _env("MAP_TILE_URL")
    # Payments: Stripe through its SDK. Without STRIPE_API_BASE, development and tests use
    # the bundled sandbox started in-process (STRIPE_EMBEDDED_SANDBOX); production, Stripe.
    # STRIPE_WEBHOOK_SECRET may list several endpoint secrets, comma-separated.
    STRIPE_SECRET_KEY = _env("STRIPE_SECRET_KEY")
    STRIPE_WEBHOOK_SECRET = _env("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = _env("STRIPE_API_BASE")
    STRIPE_TIMEOUT_SECONDS = float(_env("STRIPE_TIMEOUT_SECONDS", "30"))
    STRIPE_EMBEDDED_SANDBOX = False
    STRIPE_SANDBOX_STATE = None            # a JSON file keeping the sandbox across restarts
    STRIPE_SANDBOX_WEBHOOKS = "http"       # "http": POST to PUBLIC_BASE_URL; "manual": tests
    # Routing refuses work the firm's funds (or net-terms credit) do not cover.
    PAY_FUNDS_REQUIRED = True


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    WEBHOOKS_ALLOW_PRIVATE = _env("WEBHOOKS_ALLOW_PRIVATE", "1") == "1"
    SECRET_KEY = _env("SECRET_KEY", "dev-only-not-secret")
    STRIPE_SECRET_KEY = _env("STRIPE_SECRET_KEY", "sk_test_sandbox")
    STRIPE_WEBHOOK_SECRET = _env("STRIPE_WEBHOOK_SECRET", "whsec_sandbox_development")
    STRIPE_EMBEDDED_SANDBOX = True
    STRIPE_SANDBOX_STATE = str(INSTANCE_DIR / "stripe_sandbox.json")


class TestingConfig(Config):
    ENV_NAME = "testing"
    WEBHOOKS_ALLOW_PRIVATE = True
    TESTING = True
    SECRET_KEY = "testing-secret"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    REDIS_URL = None
    CELERY_EAGER = True
    RATELIMIT_STORAGE_URI = "memory://"
    WTF_CSRF_ENABLED = False
    # Most tests route without funding first; the pay tests turn it on.
    PAY_FUNDS_REQUIRED = False
    SMTP_URL = None
    STRIPE_SECRET_KEY = "sk_test_sandbox"
    STRIPE_WEBHOOK_SECRET = "whsec_sandbox_testing"
    STRIPE_API_BASE = None
    STRIPE_EMBEDDED_SANDBOX = True
    STRIPE_SANDBOX_WEBHOOKS = "manual"
    STRIPE_TIMEOUT_SECONDS = 10.0


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    JSON_LOGS = True
    HSTS = True

    @staticmethod
    def validate(values: dict) -> None:
        """No fallback secrets and no silent SQLite in production."""
        missing = []
        if not values.get("SECRET_KEY"):
            missing.append("SECRET_KEY")
        if not _env("DATABASE_URL"):
            missing.append("DATABASE_URL")
        if missing:
            raise RuntimeError(
                "Production configuration is missing: " + ", ".join(missing)
            )
        base = values.get("STRIPE_API_BASE")
        if values.get("STRIPE_EMBEDDED_SANDBOX") or (
                base and not base.startswith("https://api.stripe.com")):
            raise RuntimeError("Production refuses the Stripe sandbox: leave STRIPE_API_BASE "
                               "unset (or https://api.stripe.com).")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}
