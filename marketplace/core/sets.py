"""Set-based helpers: filtering by a large list of ids without thousands of parameters."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import Integer, any_, literal
from sqlalchemy.dialects.postgresql import ARRAY

from ..extensions import db

# SQLite binds one parameter per id; stay well under its variable limit.
SQLITE_CHUNK = 10_000


def in_ids(column, ids: Iterable[int]):
    """`column IN ids`: one array parameter on PostgreSQL (cheap to bind and plan)."""
    ids = list(ids)
    if db.engine.dialect.name == "postgresql":
        return column == any_(literal(ids, ARRAY(Integer)))
    return column.in_(ids)


def chunks(ids: Iterable[int]) -> list[list[int]]:
    """The whole list at once on PostgreSQL; slices SQLite can bind."""
    ids = list(ids)
    if not ids:
        return []
    if db.engine.dialect.name == "postgresql":
        return [ids]
    return [ids[i:i + SQLITE_CHUNK] for i in range(0, len(ids), SQLITE_CHUNK)]
