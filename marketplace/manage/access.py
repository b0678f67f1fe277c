"""Who may see and act on work in progress: its assignee and the firm's members."""
from __future__ import annotations

from sqlalchemy import update

from ..accounts.models import TechnicianProfile, User
from ..core.transactions import per_transaction
from ..errors import NotFound, PermissionDenied
from ..extensions import db
from ..find.access import access_assignment
from ..find.models import Assignment


def access_work_as_technician(user: User, assignment_id: int) -> Assignment:
    """Work the technician holds (or held and is still on: in progress, submitted...)."""
    tech = getattr(user, "technician", None)
    assignment = db.session.get(Assignment, assignment_id)
    if tech is None or assignment is None or assignment.assignee_id != tech.id:
        raise NotFound()
    return assignment


def access_work(user: User, assignment_id: int) -> Assignment:
    """The firm's own assignment, or the technician's own work."""
    if getattr(user, "is_firm_user", False):
        return access_assignment(user, assignment_id)
    return access_work_as_technician(user, assignment_id)


def assignee_of(user: User, assignment: Assignment) -> TechnicianProfile:
    tech = getattr(user, "technician", None)
    if tech is None or assignment.assignee_id != tech.id:
        raise PermissionDenied("This work is not yours.")
    return tech


HELD = "manage_held_assignments"


def hold(assignments) -> None:
    """These assignments' rows were locked (and read afresh) by this transaction outside
    any savepoint: `lock_assignment` need not lock them again before it ends (and the
    session keeps them until then)."""
    db.session.info.setdefault(HELD, {}).update((a.id, a) for a in assignments)


per_transaction(HELD)


def lock_assignment(assignment: Assignment) -> None:
    """Serialise actions on one assignment's work (a row lock on PostgreSQL, the write
    lock on SQLite), so that what is read next cannot change underneath; `assignment`
    is read afresh by the same statement (no refresh needed after it). Once per
    transaction: a row this transaction holds already is neither locked nor read again."""
    if assignment.id in db.session.info.get(HELD, ()):
        return
    db.session.execute(update(Assignment).where(Assignment.id == assignment.id)
                       .values(version=Assignment.version).returning(Assignment)
                       .execution_options(synchronize_session=False,
                                          populate_existing=True)).one()
