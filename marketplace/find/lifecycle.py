"""The assignment state machine: its states, the moves between them, and the one way to move.

`draft -> published -> assigned -> in_progress -> submitted -> approved -> paid`,
with `cancelled`, a backout returning `assigned -> published`, and a revisit
returning `submitted -> in_progress`. Every transition is one conditional
UPDATE on the state it read (so two racing requests cannot both succeed),
writes the audit row and sends `assignment_transitioned` inside the
transaction: later stages subscribe to it instead of being called.
"""
from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import bindparam, inspect, update

from ..core import audit, clock
from ..core.actions import Action
from ..core.signals import assignment_transitioned
from ..core.statements import built_once
from ..errors import InvalidState
from ..extensions import db


class AssignmentStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    PAID = "paid"
    CANCELLED = "cancelled"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


S = AssignmentStatus

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

# States in which the assignee is busy during the window (used for "booked").
BOOKED_STATES = (S.ASSIGNED, S.IN_PROGRESS)
# States in which the window and terms may still change.
OPEN_STATES = (S.DRAFT, S.PUBLISHED)

def sources_of(to: S) -> set[S]:
    return {state for state, targets in ALLOWED.items() if to in targets}


def transition(assignment, to: S, *, actor: Any, action: Action,
               expect_assignee: int | None = None, expect_version: int | None = None,
               message: str | None = None, code: str | None = None, **values) -> S:
    """Move `assignment` to `to` from the state the caller read (and, with
    `expect_version`, the version it read); returns the state it left.

    The caller decided what to do from what it read (a fee, a notice, a check of
    the window), so the move happens only if that is still so: otherwise nothing
    changes and InvalidState says what the assignment is now."""
    model = type(assignment)
    from_state = assignment.status
    keys = tuple(sorted(values))
    stmt = _move_statement(model, to, keys, expect_assignee is not None,
                           expect_version is not None)
    params = {"m_id": assignment.id, "m_from": from_state, "m_now": clock.now(),
              "m_assignee": expect_assignee, "m_version": expect_version,
              **{f"v_{k}": values[k] for k in keys}}
    before_assignee = assignment.assignee_id
    # The moved row comes back with the move (read afresh by the same statement).
    moved = db.session.execute(stmt, params).scalar_one_or_none()
    if moved is None:
        db.session.refresh(assignment)
        raise InvalidState(message or f"This assignment is {assignment.status.label.lower()}; "
                           f"it cannot become {to.label.lower()}.", code=code)
    db.session.expire(assignment, _relationships(model))
    audit.record(action, assignment, actor=actor, firm_id=assignment.firm_id,
                 before={"status": from_state.value, "assignee_id": before_assignee},
                 after={"status": to.value, "assignee_id": assignment.assignee_id})
    assignment_transitioned.send(assignment, from_state=from_state, to_state=to,
                                 actor=actor, action=action, **values)
    return from_state


def _move_statement(model, to: S, keys: tuple[str, ...], by_assignee: bool, by_version: bool):
    """The conditional UPDATE of one shape of move, built once (values bound at each):
    from the state read (`m_from`), only where `to` may be reached from, and, when
    asked, still with the assignee or version read; the moved row returned."""
    def build():
        stmt = (update(model)
                .where(model.id == bindparam("m_id"), model.status == bindparam("m_from"),
                       model.status.in_(sources_of(to)))
                .values(status=to, version=model.version + 1, updated_at=bindparam("m_now"),
                        **{k: bindparam(f"v_{k}") for k in keys}))
        if by_assignee:
            stmt = stmt.where(model.assignee_id == bindparam("m_assignee"))
        if by_version:
            stmt = stmt.where(model.version == bindparam("m_version"))
        return stmt.returning(model).execution_options(synchronize_session=False,
                                                       populate_existing=True)
    return built_once(("lifecycle.move", model, to, keys, by_assignee, by_version), build)


def _relationships(model) -> list[str]:
    return [r.key for r in inspect(model).relationships]


def reschedule(assignment, starts_at: datetime, ends_at: datetime, *, actor: Any,
               expect_version: int | None = None) -> None:
    """Move the window of work not yet taken (a counteroffer on schedule), audited.

    Conditional on the state and the version read, so it cannot slip under an
    acceptance that checked the old window."""
    model = type(assignment)
    version = assignment.version if expect_version is None else expect_version
    before = {"starts_at": assignment.starts_at, "ends_at": assignment.ends_at}
    changed = db.session.execute(
        update(model)
        .where(model.id == assignment.id, model.status.in_(OPEN_STATES), model.version == version)
        .values(starts_at=starts_at, ends_at=ends_at, version=model.version + 1,
                updated_at=clock.now())
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(assignment)
    if changed != 1:
        raise InvalidState("This assignment changed meanwhile; reload and try again.",
                           code="stale_version")
    audit.record(Action.ASSIGNMENT_RESCHEDULED, assignment, actor=actor,
                 firm_id=assignment.firm_id, before=before,
                 after={"starts_at": starts_at, "ends_at": ends_at})
