"""A firm picks, by name, one of the technicians it works with (verify.relations): the
credential status page's field and its suggestions."""
from __future__ import annotations

from sqlalchemy import ColumnElement

from ..accounts import people
from ..accounts.models import TechnicianProfile, User
from ..accounts.policy import require_member
from . import relations


def works_with_scope(user: User) -> ColumnElement[bool]:
    firm_id = require_member(user, message="This is for firms.").firm_id
    return TechnicianProfile.id.in_(relations.technician_ids_for(firm_id))


def pick(user: User, text: str, field: str = "technician") -> TechnicianProfile:
    return people.pick_technician(text, works_with_scope(user), field=field,
                                  among="among the technicians you work with")


def suggest(user: User, text: str) -> list[TechnicianProfile]:
    return people.suggest(text, works_with_scope(user))
