"""The assignment state machine. Every transition is one conditional UPDATE.

`draft -> published -> assigned -> in_progress -> submitted -> approved -> paid`,
with `cancelled`, and a backout returning `assigned -> published`. A transition
names the states it may start from; the UPDATE's WHERE clause checks them in
the database, so two racing requests cannot both succeed.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import update

from ..core import audit, clock
from ..errors import InvalidState
from ..extensions import db
from .models import Assignment
from .models import AssignmentStatus as S

ALLOWED: dict[S, set[S]] = {
    S.DRAFT: {S.PUBLISHED, S.CANCELLED},
    S.PUBLISHED: {S.ASSIGNED, S.CANCELLED},
    S.ASSIGNED: {S.PUBLISHED, S.IN_PROGRESS, S.CANCELLED},
    S.IN_PROGRESS: {S.SUBMITTED},
    S.SUBMITTED: {S.APPROVED, S.IN_PROGRESS},
    S.APPROVED: {S.PAID},
    S.PAID: set(),
    S.CANCELLED: set(),
}


def transition(assignment: Assignment, to: S, *, actor: Any, action: str,
               expect_assignee: int | None = None, message: str | None = None,
               code: str | None = None, **values) -> None:
    """Move `assignment` to `to` if, in the database, it is in a state that allows it."""
    sources = [state for state, targets in ALLOWED.items() if to in targets]
    stmt = (update(Assignment)
            .where(Assignment.id == assignment.id, Assignment.status.in_(sources))
            .values(status=to, version=Assignment.version + 1, updated_at=clock.now(), **values)
            .execution_options(synchronize_session=False))
    if expect_assignee is not None:
        stmt = stmt.where(Assignment.assignee_id == expect_assignee)
    before = {"status": assignment.status.value, "assignee_id": assignment.assignee_id}
    if db.session.execute(stmt).rowcount != 1:
        db.session.refresh(assignment)
        raise InvalidState(message or f"This assignment is {assignment.status.label.lower()}; "
                           f"it cannot become {to.label.lower()}.", code=code)
    db.session.refresh(assignment)
    audit.record(action, assignment, actor=actor, firm_id=assignment.firm_id, before=before,
                 after={"status": to.value, "assignee_id": assignment.assignee_id})
