"""The Onsite Marketplace: create_app wires config, extensions, stages in order, the CLI."""
from __future__ import annotations

import importlib
import os
from typing import Any

from flask import Flask

# Stages in import order; each package's init_app(app) registers its blueprints,
# hooks, signal subscribers, beat entries and commands.
STAGES = ("accounts", "notifications", "verify", "find", "engage", "manage", "pay", "rate")


def create_app(config: str | type | None = None, overrides: dict[str, Any] | None = None) -> Flask:
    from config import CONFIGS, ProductionConfig

    app = Flask(__name__, template_folder="../templates", static_folder="../static",
                instance_relative_config=True)
    from .core.uploads import UploadRequest
    app.request_class = UploadRequest
    if config is None:
        config = os.environ.get("MARKETPLACE_CONFIG", "development")
    config_cls = CONFIGS[config] if isinstance(config, str) else config
    app.config.from_object(config_cls)
    app.config.update(overrides or {})
    if issubclass(config_cls, ProductionConfig):
        ProductionConfig.validate(app.config)
    os.makedirs(app.instance_path, exist_ok=True)

    from . import cli, demo, errors, jobs
    from .core import hooks, outbox  # noqa: F401  (the outbox table is known to migrations)
    from .extensions import csrf, db, limiter, login_manager, migrate
    from .web import api, boundary, dashboards, health, logs, security, ui

    hooks.init_app(app)
    logs.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "..", "migrations"),
                     render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    jobs.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    ui.init_app(app)
    api.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(dashboards.bp)
    for stage in STAGES:
        importlib.import_module(f"{__name__}.{stage}").init_app(app)
    demo.init_app(app)
    jobs.install_beat(app)
    boundary.init_app(app)
    cli.init_app(app)
    return app
