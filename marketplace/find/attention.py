"""What needs a firm's attention: the dashboard counts it, the assignment list filters by it.

Find knows assignments; what needs attention on them (counteroffers to answer,
applicants to choose from) belongs to later stages. Each kind is registered once
(`register_attention`) as a query of the rows that need attention, one row per
thing to do, each naming its assignment: the dashboard counts the rows, the list
shows the assignments they name. One definition, so the count and the list agree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from flask import Flask
from sqlalchemy import Select, func, select

from ..core.hooks import hooks
from ..errors import ValidationFailed
from ..extensions import db
from .models import Assignment

HOOK = "assignment_attention"


@dataclass(frozen=True)
class Attention:
    key: str                                  # the list's ?needs= value
    singular: str                             # "counteroffer to answer"
    plural: str                               # "counteroffers to answer"
    rows: Callable[[int], Select]             # firm id -> one row per thing to do; its
                                              # first column is the assignment's id

    def count(self, firm_id: int) -> int:
        """How many things of this kind wait for the firm (what its dashboard shows)."""
        return db.session.scalar(select(func.count()).select_from(
            self.rows(firm_id).subquery())) or 0


def register_attention(app: Flask, attention: Attention) -> None:
    hooks(app).put(HOOK, attention.key, attention)


def kinds() -> dict[str, Attention]:
    return hooks().mapping(HOOK)


def kind(key: str) -> Attention:
    found = kinds().get(key)
    if found is None:
        raise ValidationFailed.field("needs", "Unknown filter.")
    return found


def narrow(stmt: Select, key: str, firm_id: int) -> Select:
    """The assignments of `stmt` that have something of this kind waiting."""
    ids = kind(key).rows(firm_id).subquery()
    return stmt.where(Assignment.id.in_(select(ids.c[0])))
