"""Every extension, created unbound; create_app binds them."""
from __future__ import annotations

import sqlite3

from celery import Celery
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


# Tasks run through marketplace.jobs.AppContextTask, the tasks' transaction boundary.
celery = Celery("marketplace", task_cls="marketplace.jobs:AppContextTask")


@event.listens_for(Engine, "connect")
def _sqlite_read_settings(dbapi_connection, _record) -> None:
    """SQLite keeps only 2 MB of pages by default; the match index wants its hot
    pages in memory (page cache plus a memory-mapped file). Reads only: no change
    to locking or durability."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA cache_size = -65536")     # 64 MiB
        # Address space, not memory; SQLite caps it at its build maximum (2 GiB by default).
        dbapi_connection.execute("PRAGMA mmap_size = 8589934592")
