"""Which technicians a firm works with: the one rule for what a firm may see of a
technician's credentials, and which of its private credential types it offers them.

A firm works with a technician who holds or held one of its assignments, was
offered one, or is (or is invited or applying to be) in one of its talent pools.
Those relationships live in later stages (find, engage) that verify must not
import, so each stage registers a query here at start-up.
"""
from __future__ import annotations

from typing import Callable

from flask import Flask
from sqlalchemy import Select, exists, false, null, select, union

from ..core.hooks import hooks
from ..extensions import db

HOOK = "works_with"


def register_relation(app: Flask, source: Callable[[], Select]) -> None:
    """A stage adds a relationship: `source()` selects (firm_id, technician_id) pairs."""
    hooks(app).add(HOOK, source)


def _pairs():
    sources = hooks().get(HOOK)
    if not sources:
        return None
    return union(*(source() for source in sources)).subquery("works_with")


def works_with(firm_id: int, technician_id: int) -> bool:
    pairs = _pairs()
    if pairs is None:
        return False
    return bool(db.session.scalar(select(exists().where(
        pairs.c.firm_id == firm_id, pairs.c.technician_id == technician_id))))


def firm_ids_for(technician_id: int) -> Select:
    """The firms a technician works with, as a subquery-ready select of firm ids."""
    pairs = _pairs()
    if pairs is None:
        return select(null()).where(false())
    return select(pairs.c.firm_id).where(pairs.c.technician_id == technician_id)


def technician_ids_for(firm_id: int) -> Select:
    """The technicians a firm works with, as a subquery-ready select of technician ids."""
    pairs = _pairs()
    if pairs is None:
        return select(null()).where(false())
    return select(pairs.c.technician_id).where(pairs.c.firm_id == firm_id)

