"""Minimum-score gates: a requirement set can ask for a minimum reliability score, average
rating or number of completed jobs. Verify's compliance asks every registered condition
(hook ``requirement_conditions``), so matching, the feed, acceptance and pools apply
them like credentials; when scorecards change, pool memberships are checked again
(dropped below a minimum, back once above it)."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import and_, bindparam, case, func, or_, select

from ..accounts.models import User
from ..core import audit, clock
from ..core.actions import Action
from ..core.statements import built_once
from ..errors import PermissionDenied, ValidationFailed
from ..extensions import db
from ..find.models import PoolMember, PoolMemberStatus, TalentPool
from ..verify import compliance
from ..verify.models import RequirementSet
from .models import ScoreMinimum, TechnicianScore

BELOW_MINIMUM = "below_minimum_score"


def _card(column, technician_id):
    ts = TechnicianScore
    return select(column).where(ts.technician_id == technician_id) \
        .correlate_except(ts).scalar_subquery()


def unmet(requirement_set_id, technician_id):
    """SQL: the set asks for a minimum the technician's scorecard does not reach (a
    technician with no scorecard has 0 jobs, no rating, no score)."""
    sm, ts = ScoreMinimum, TechnicianScore
    completed = func.coalesce(_card(ts.n_completed, technician_id), 0)
    rating = func.coalesce(_card(case((ts.n_rated > 0, ts.stars_sum * 100 / ts.n_rated),
                                      else_=0), technician_id), 0)
    score = func.coalesce(_card(ts.reliability, technician_id), -1.0)
    low = or_(and_(sm.min_completed_jobs.is_not(None), completed < sm.min_completed_jobs),
              and_(sm.min_rating_x100.is_not(None), rating < sm.min_rating_x100),
              and_(sm.min_reliability.is_not(None), score < sm.min_reliability))
    return (select(sm.requirement_set_id)
            .where(sm.requirement_set_id == requirement_set_id, low)
            .correlate_except(sm).exists())


def minimums(requirement_set_id: int) -> tuple[int | None, int | None, int | None]:
    """(min reliability, min rating × 100, min completed jobs) of a set."""
    row = db.session.get(ScoreMinimum, requirement_set_id)
    return (row.min_reliability, row.min_rating_x100, row.min_completed_jobs) if row \
        else (None, None, None)


def firm_sets(firm_id: int) -> list[tuple[RequirementSet, ScoreMinimum | None]]:
    return list(db.session.execute(
        select(RequirementSet, ScoreMinimum)
        .outerjoin(ScoreMinimum, ScoreMinimum.requirement_set_id == RequirementSet.id)
        .where(RequirementSet.firm_id == firm_id).order_by(RequirementSet.name)).all())


def asks(requirement_set_id: int) -> bool:
    return any(v is not None for v in minimums(requirement_set_id))


def explain(technician_id: int, requirement_set_id: int) -> list[str]:
    reliability, rating_x100, jobs = minimums(requirement_set_id)
    card = db.session.get(TechnicianScore, technician_id)
    done = card.n_completed if card else 0
    failures = []
    if jobs is not None and done < jobs:
        failures.append(f"Needs {jobs} completed jobs on the platform (has {done}).")
    if rating_x100 is not None:
        have = (card.stars_sum * 100 // card.n_rated) if card and card.n_rated else 0
        if have < rating_x100:
            failures.append(f"Needs an average rating of {rating_x100 / 100:.1f} "
                            f"(has {'none' if not have else f'{have / 100:.1f}'}).")
    if reliability is not None:
        score = card.reliability if card else None
        if score is None or score < reliability:
            failures.append(f"Needs a reliability score of {reliability} "
                            f"(has {'none yet' if score is None else f'{score:.0f}'}).")
    return failures


def set_minimums(user: User, rset: RequirementSet, *, min_reliability: int | None,
                 min_rating: float | None, min_completed_jobs: int | None) -> RequirementSet:
    """A firm sets its requirement set's minimum scores (audited)."""
    firm = getattr(user, "firm", None)
    if firm is None or rset.firm_id != firm.id:
        raise PermissionDenied("You cannot change this requirement set.")
    if min_reliability is not None and not 0 <= min_reliability <= 100:
        raise ValidationFailed.field("min_reliability", "Between 0 and 100.")
    if min_rating is not None and not 1 <= min_rating <= 5:
        raise ValidationFailed.field("min_rating", "Between 1 and 5.")
    if min_completed_jobs is not None and not 0 <= min_completed_jobs <= 100_000:
        raise ValidationFailed.field("min_completed_jobs", "Zero or more.")
    before = dict(zip(("min_reliability", "min_rating_x100", "min_completed_jobs"),
                      minimums(rset.id)))
    row = db.session.get(ScoreMinimum, rset.id)
    if row is None:
        row = ScoreMinimum(requirement_set_id=rset.id)
        db.session.add(row)
    row.min_reliability = min_reliability
    row.min_rating_x100 = None if min_rating is None else round(min_rating * 100)
    row.min_completed_jobs = min_completed_jobs
    db.session.flush()
    audit.record(Action.REQUIREMENT_MINIMUMS_SET, rset, actor=user, firm_id=firm.id,
                 before=before, after={"min_reliability": min_reliability,
                                       "min_rating_x100": row.min_rating_x100,
                                       "min_completed_jobs": min_completed_jobs})
    scores_changed_for_set(rset.id)
    return rset


def gated(*columns):
    """Memberships of pools whose set asks for minimum scores, active or removed for
    falling below them: a SELECT of `columns` (PoolMember's, TalentPool's) to narrow."""
    asking = select(ScoreMinimum.requirement_set_id).where(or_(
        ScoreMinimum.min_rating_x100.is_not(None),
        ScoreMinimum.min_completed_jobs.is_not(None),
        ScoreMinimum.min_reliability.is_not(None)))
    return (select(*columns).select_from(PoolMember)
            .join(TalentPool, TalentPool.id == PoolMember.pool_id)
            .where(TalentPool.requirement_set_id.in_(asking),
                   or_(PoolMember.status == PoolMemberStatus.ACTIVE,
                       and_(PoolMember.status == PoolMemberStatus.REMOVED,
                            PoolMember.removed_reason == BELOW_MINIMUM))))


def _gated_members():
    """The technicians' (bound as `techs`) gated memberships (it runs whenever a
    scorecard moves, unless the caller knew there were none)."""
    return built_once(("rate.gated_members",), lambda: gated(
        PoolMember, TalentPool.requirement_set_id).where(
        PoolMember.technician_id.in_(bindparam("techs", expanding=True))))


def scores_changed(technician_ids: set[int]) -> None:
    """Scorecards changed: pools whose set asks for minimum scores are checked again."""
    if not technician_ids:
        return
    rows = db.session.execute(_gated_members(), {"techs": sorted(technician_ids)}).all()
    today = clock.today()
    for member, set_id in rows:
        ok = compliance.compliant_ids(set_id, today, [member.technician_id])
        meets = ok is None or member.technician_id in ok
        if member.status == PoolMemberStatus.ACTIVE and not meets:
            member.status, member.removed_reason = PoolMemberStatus.REMOVED, BELOW_MINIMUM
            action = Action.POOL_MEMBER_REMOVED
        elif member.status == PoolMemberStatus.REMOVED and meets:
            member.status, member.removed_reason = PoolMemberStatus.ACTIVE, None
            action = Action.POOL_MEMBER_REINSTATED
        else:
            continue
        audit.record(action, member, firm_id=member.pool.firm_id,
                     after={"status": member.status.value, "reason": BELOW_MINIMUM})
    db.session.flush()


def scores_changed_for_set(requirement_set_id: int) -> None:
    """A set's minimums changed: its pools' members are checked again."""
    members = db.session.scalars(
        select(PoolMember.technician_id).join(TalentPool, TalentPool.id == PoolMember.pool_id)
        .where(TalentPool.requirement_set_id == requirement_set_id)).all()
    scores_changed(set(members))


class ScoreCondition:
    """What verify's compliance asks of rate (hook ``requirement_conditions``)."""
    unmet = staticmethod(unmet)
    asks = staticmethod(asks)
    explain = staticmethod(explain)


def init_app(app: Flask) -> None:
    compliance.register_condition(app, ScoreCondition())
