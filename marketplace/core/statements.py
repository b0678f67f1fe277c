"""Statements a hot path runs again and again, built once per process.

A statement object built afresh costs SQLAlchemy its construction and its cache key at
every execution; one built once, its values bound as parameters at each execution, costs
neither. `built_once(key, build)` keeps it under a key its module chooses (include the
dialect's name when the statement differs by database). Two threads building the same
one at once both get a correct statement; one of them is kept.
"""
from __future__ import annotations

from typing import Callable, TypeVar

T = TypeVar("T")
_BUILT: dict[tuple, object] = {}


def built_once(key: tuple, build: Callable[[], T]) -> T:
    found = _BUILT.get(key)
    if found is None:
        found = _BUILT.setdefault(key, build())
    return found  # type: ignore[return-value]
