"""Benchmark data kept as PostgreSQL template databases: built once, copied per run.

One builder for every benchmark's data (bench/http_data.py, bench/kpis.py): a
template is named for its generator (prefix and version), the schema it was
built on (the newest migration and a digest of them all: a revision edited in
place counts as a new one) and the size; it is generated when missing, asked
for, or older than its generator allows (future work must stay in the future);
templates of the same generator and size on another schema are dropped. Rows
are written with COPY, filled with the model's Python defaults where a row
leaves a required column out, so they are what the application writes. A run
works on a copy (CREATE DATABASE ... TEMPLATE), so reruns start in seconds.
"""
from __future__ import annotations

import enum
import glob
import hashlib
import json
import logging
import os
import time
from datetime import date, timedelta
from typing import Callable

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def admin():
    import psycopg

    from tests.services import PG_ADMIN_URL
    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


def url_of(name: str) -> str:
    from tests.services import PG_ADMIN_URL
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def sa_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def schema_revision() -> str:
    """The newest migration and a digest of them all."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    cfg = Config()
    cfg.set_main_option("script_location", os.path.join(ROOT, "migrations"))
    heads = ScriptDirectory.from_config(cfg).get_heads()
    digest = hashlib.sha1()
    for path in sorted(glob.glob(os.path.join(ROOT, "migrations", "versions", "*.py"))):
        with open(path, "rb") as source:
            digest.update(source.read())
    return "_".join(sorted(h.split("_")[0] for h in heads)) + "_" + digest.hexdigest()[:8]


def _templates(conn, prefix: str) -> dict[str, str]:
    """Templates of this prefix and the day each was generated (the database's comment)."""
    rows = conn.execute(
        "SELECT datname, shobj_description(oid, 'pg_database') FROM pg_database "
        "WHERE datname LIKE %s AND datistemplate", (prefix + "%",)).fetchall()
    return {name: comment or "" for name, comment in rows}


def _drop_template(conn, name: str) -> None:
    conn.execute(f'ALTER DATABASE "{name}" IS_TEMPLATE false')
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _too_old(comment: str, max_age: timedelta | None) -> bool:
    if max_age is None:
        return False
    try:
        made = date.fromisoformat(comment.split()[-1])
    except (ValueError, IndexError):
        return True
    return _today() - made > max_age


def _today() -> date:
    from marketplace.core import clock
    return clock.today()


def ensure(prefix: str, version: int, tag: str, generate: Callable[[str], dict],
           *, rebuild: bool = False, max_age: timedelta | None = None, log=print) -> str:
    """The template `prefix`v`version`_<schema>_`tag`, made by `generate(url)` (which
    returns counts to print) on a migrated database when it is missing, stale or asked for."""
    name = f"{prefix}v{version}_{schema_revision()}_{tag}"
    with admin() as conn:
        for other, comment in _templates(conn, prefix).items():
            stale = other == name and (rebuild or _too_old(comment, max_age))
            if stale or (other != name and other.endswith(tag)):
                log(f"dropping template {other}")
                _drop_template(conn, other)
        if name in _templates(conn, prefix):
            return name
        building = name + "_building"
        conn.execute(f'DROP DATABASE IF EXISTS "{building}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{building}"')
    t0 = time.perf_counter()
    try:
        migrate(url_of(building))
        counts = generate(url_of(building))
    except BaseException:
        drop_database(url_of(building))
        raise
    with admin() as conn:
        conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        conn.execute(f'ALTER DATABASE "{name}" IS_TEMPLATE true')
        conn.execute(f"COMMENT ON DATABASE \"{name}\" IS 'generated {_today().isoformat()}'")
    log(f"generated {name} in {time.perf_counter() - t0:.0f} s: "
        + ", ".join(f"{v} {k}" for k, v in counts.items()))
    return name


def copy_of(template: str, suffix: str) -> str:
    """A fresh database copied from the template (a file copy, then a checkpoint)."""
    name = f"{template}_{suffix}"
    with admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
        conn.execute("CHECKPOINT")
    return url_of(name)


def drop_database(url: str) -> None:
    with admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def app_for(url: str, **config):
    from marketplace import create_app
    return create_app("testing", {"SQLALCHEMY_DATABASE_URI": sa_url(url), **config})


def migrate(url: str) -> None:
    from flask_migrate import upgrade

    from marketplace.extensions import db
    logging.getLogger("alembic").setLevel(logging.WARNING)
    with app_for(url).app_context():
        upgrade()
        db.engine.dispose()


def rebuild_rollups(url: str) -> int:
    """The KPI rollups of data written with COPY (which no application event counted)."""
    from marketplace.extensions import db
    from marketplace.manage import rollups
    with app_for(url).app_context():
        facts = rollups.rebuild()
        db.session.commit()
        db.engine.dispose()
    import psycopg
    with psycopg.connect(dsn(url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE kpi_facts, kpi_hourly")
    return facts


def _fillers(table, columns: list[str]) -> list[tuple[str, object]]:
    out = []
    for col in table.columns:
        if col.name in columns or col.nullable or col.server_default is not None:
            continue
        if col.default is None:
            raise RuntimeError(f"{table.name}.{col.name} needs a value in the benchmark data")
        value = col.default.arg(None) if col.default.is_callable else col.default.arg
        if isinstance(value, enum.Enum):
            value = value.value
        elif isinstance(value, (dict, list)):
            value = json.dumps(value)
        out.append((col.name, value))
    return out


def copy_rows(cur, model, columns: list[str], rows) -> int:
    """COPY rows into the model's table, with the model's defaults for what they leave out."""
    table = model.__table__
    extra = _fillers(table, columns)
    names = columns + [name for name, _ in extra]
    tail = tuple(value for _, value in extra)
    n = 0
    with cur.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(tuple(row) + tail)
            n += 1
    return n
