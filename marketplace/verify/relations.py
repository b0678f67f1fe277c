"""Which technicians a firm works with: the one rule for what a firm may see of a
technician's credentials, and which of its private credential types it offers them.

Access grows only from the technician's side of a relationship: a firm works with a
technician who holds or held one of its assignments, accepted or applied to one of its
offers, or accepted an invitation to (or applied to) one of its talent pools. An
invitation or an offer the technician has not answered gives the firm nothing; it only
lets the technician submit that firm's private credential types (the firm reached out,
so the technician may need them to say yes).
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
REACHED_HOOK = "reached_out"


def register_relation(app: Flask, source: Callable[[], Select], *,
                      reached_out: bool = False) -> None:
    """A stage adds a relationship: `source()` selects (firm_id, technician_id) pairs.
    Only what the technician agreed to counts as working together; `reached_out` marks
    what the firm alone did (an invitation, an offer), which opens its private types."""
    hooks(app).add(REACHED_HOOK if reached_out else HOOK, source)


def _pairs(*names: str):
    sources = [source for name in (names or (HOOK,)) for source in hooks().get(name)]
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



def firm_ids_reaching(technician_id: int) -> Select:
    """The firms whose private credential types the technician may submit: those it
    works with, and those that invited it or offered it work."""
    pairs = _pairs(HOOK, REACHED_HOOK)
    if pairs is None:
        return select(null()).where(false())
    return select(pairs.c.firm_id).where(pairs.c.technician_id == technician_id)
