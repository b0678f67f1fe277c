"""Can this technician take this assignment? One answer, with the reason."""
from __future__ import annotations

from sqlalchemy import select, update

from ..accounts.models import TechnicianProfile, TechnicianStatus
from ..errors import InvalidState, PermissionDenied
from ..extensions import db
from ..find import exclusions
from ..find.matching import MatchQuery, excluded_ids
from ..find.models import Assignment
from ..verify import compliance


def lock_technician(technician_id: int) -> None:
    """Serialise one technician's commitments (a row lock on PostgreSQL, the write
    lock on SQLite), so two accepts of overlapping work cannot both pass the check."""
    db.session.execute(update(TechnicianProfile).where(TechnicianProfile.id == technician_id)
                       .values(id=TechnicianProfile.id)
                       .execution_options(synchronize_session=False))


def eligible_ids(assignment: Assignment, technician_ids: list[int]) -> list[int]:
    """Of `technician_ids`, those active and not blocked, booked or non-compliant."""
    if not technician_ids:
        return []
    active = set(db.session.scalars(select(TechnicianProfile.id).where(
        TechnicianProfile.id.in_(technician_ids),
        TechnicianProfile.status == TechnicianStatus.ACTIVE)))
    bad = excluded_ids(MatchQuery.of(assignment), sorted(active))
    return [tid for tid in technician_ids if tid in active and tid not in bad]


def assert_can_take(profile: TechnicianProfile, assignment: Assignment) -> None:
    """The exclusions matching applies (find.exclusions), on the assignment's local
    day, each with its reason."""
    if profile.status != TechnicianStatus.ACTIVE:
        raise PermissionDenied(profile.status_reason or
                               f"Your account is {profile.status.value}; you cannot take work.")
    query = MatchQuery.of(assignment)
    found = exclusions.reasons(profile.id, query)
    if exclusions.BLOCKED in found:
        raise PermissionDenied("This firm is not offering you work.")
    if exclusions.NOT_COMPLIANT in found:
        result = compliance.check(profile.id, query.requirement_set_id, query.on)
        raise InvalidState("You do not meet this assignment's requirements: "
                           + " ".join(result.failures), code="not_compliant")
    if exclusions.BOOKED in found:
        raise InvalidState("You already have work booked that overlaps this window.",
                           code="double_booked")
