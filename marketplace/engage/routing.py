"""Routing: who gets offers, and when. Staged plans advance on a schedule."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update

from ..accounts.models import User
from ..accounts.policy import check_budget_limit, require_member
from ..core import audit, clock
from ..core.hooks import hooks
from ..core.actions import Action
from ..core.money import cents
from ..errors import InvalidState, ValidationFailed
from ..extensions import db
from ..find.directory import visible_ids
from ..find.lifecycle import transition
from ..find.matching import match_technicians
from ..find.models import (
    Assignment,
    AssignmentStatus,
    PoolMember,
    PoolMemberStatus,
    TalentPool,
)
from .eligibility import eligible_ids
from .models import Engagement, Offer, OfferSource, RoutingMode, RoutingStage, TargetKind
from .offers import send_offers


ROUTING_TARGETS = "routing_targets"
# Targets whose audience a later stage provides (hook ``routing_targets``, keyed by kind).
PROVIDED = (TargetKind.FAVOURITES,)


def register_routing_target(app, kind: TargetKind, audience) -> None:
    """`audience(firm_id) -> [technician_id]`: who a stage of this kind offers the firm's
    work to (before the exclusions every target gets)."""
    hooks(app).put(ROUTING_TARGETS, kind.value, audience)


def _provider(kind: TargetKind):
    return hooks().mapping(ROUTING_TARGETS).get(kind.value)


def available_targets() -> list[TargetKind]:
    """The targets a firm can route to here: the built-in ones and those provided."""
    provided = hooks().mapping(ROUTING_TARGETS)
    return [k for k in TargetKind if k not in PROVIDED or k.value in provided]


@dataclass
class StagePlan:
    target: TargetKind
    after_minutes: int = 0
    technician_ids: list[int] = field(default_factory=list)
    pool_ids: list[int] = field(default_factory=list)
    top_k: int | None = None


def route_assignment(actor: User, assignment: Assignment, *, mode: RoutingMode,
                     stages: list[StagePlan], offer_ttl_hours: int = 24,
                     cancellation_cutoff_hours: int = 24, cancellation_fee_cents: int = 0,
                     standby_size: int = 5) -> Engagement:
    """Publish (if draft) and route: stage 1 goes out now, later stages on schedule."""
    require_member(actor, assignment.firm_id, message="Only the firm can route its assignments.")
    if not assignment.firm.is_verified:
        raise InvalidState("Your firm must be verified by Onsite before it can route work.")
    check_budget_limit(actor, assignment.firm_id, assignment.budget_cents,
                       message="This budget is above your limit; ask a manager to route it.")
    if assignment.status not in (AssignmentStatus.DRAFT, AssignmentStatus.PUBLISHED):
        raise InvalidState(f"This assignment is {assignment.status.label.lower()}.")
    if not stages:
        raise ValidationFailed.field("stages", "Route to at least one audience.")
    if not 1 <= offer_ttl_hours <= 24 * 14:
        raise ValidationFailed.field("offer_ttl_hours", "Offers last between 1 hour and 14 days.")
    cancellation_fee_cents = cents(cancellation_fee_cents, "cancellation_fee")
    if cancellation_fee_cents > assignment.budget_cents:
        raise ValidationFailed.field("cancellation_fee", "The fee must be between 0 and the budget.")
    for plan in stages:
        _validate(actor, plan, assignment)
    _hold(assignment)
    engagement = db.session.get(Engagement, assignment.id) or Engagement(assignment_id=assignment.id)
    engagement.mode = mode
    engagement.offer_ttl_hours = offer_ttl_hours
    engagement.cancellation_cutoff_hours = cancellation_cutoff_hours
    engagement.cancellation_fee_cents = cancellation_fee_cents
    engagement.standby_size = standby_size
    db.session.add(engagement)
    # A new plan replaces the old one; offers it sent stay, no longer tied to a stage.
    db.session.execute(update(Offer).where(Offer.assignment_id == assignment.id,
                                           Offer.stage_id.is_not(None))
                       .values(stage_id=None).execution_options(synchronize_session=False))
    engagement.stages.clear()
    db.session.flush()
    now = clock.now()
    for position, plan in enumerate(stages):
        engagement.stages.append(RoutingStage(
            position=position, target=plan.target, top_k=plan.top_k,
            target_ids=plan.technician_ids if plan.target == TargetKind.TECHNICIANS else plan.pool_ids,
            due_at=now + timedelta(minutes=plan.after_minutes)))
    db.session.flush()
    if assignment.status == AssignmentStatus.DRAFT:
        transition(assignment, AssignmentStatus.PUBLISHED, actor=actor,
                   action=Action.ASSIGNMENT_PUBLISHED, published_at=now)
    audit.record(Action.ASSIGNMENT_ROUTED, assignment, actor=actor, firm_id=assignment.firm_id,
                 after={"mode": mode.value, "stages": [
                     {"target": p.target.value, "after_minutes": p.after_minutes} for p in stages]})
    run_due_stages(assignment, now)
    return engagement


def _hold(assignment: Assignment) -> None:
    """Routing rewrites the plan, mode and fee from the state and version read: claim that
    version (one conditional UPDATE that moves it on and holds the row), or refuse when an
    acceptance, a cancellation or an edit came first."""
    read_status, read_version = assignment.status, assignment.version
    changed = db.session.execute(
        update(Assignment)
        .where(Assignment.id == assignment.id, Assignment.status == read_status,
               Assignment.version == read_version)
        .values(version=Assignment.version + 1, updated_at=clock.now())
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(assignment)
    if changed != 1:
        raise InvalidState("This assignment changed meanwhile (taken, cancelled or edited); "
                           "look at it again before routing it.", code="stale_version")


def _validate(actor: User, plan: StagePlan, assignment: Assignment) -> None:
    if plan.after_minutes < 0:
        raise ValidationFailed.field("stages", "A stage cannot start in the past.")
    if plan.target == TargetKind.TECHNICIANS:
        if not plan.technician_ids:
            raise ValidationFailed.field("stages", "Choose at least one technician.")
        found = visible_ids(actor, plan.technician_ids)
        unknown = [str(i) for i in plan.technician_ids if i not in found]
        if unknown:
            raise ValidationFailed.field("stages", "No such technician: #" + ", #".join(unknown))
    if plan.target == TargetKind.POOL:
        if not plan.pool_ids:
            raise ValidationFailed.field("stages", "Choose at least one talent pool.")
        owned = set(db.session.scalars(select(TalentPool.id).where(
            TalentPool.id.in_(plan.pool_ids), TalentPool.firm_id == assignment.firm_id)))
        if owned != set(plan.pool_ids):
            raise ValidationFailed.field("stages", "Choose your own talent pools.")
    if plan.target == TargetKind.TOP_MATCHES and not (plan.top_k and 1 <= plan.top_k <= 100):
        raise ValidationFailed.field("stages", "Invite between 1 and 100 top matches.")
    if plan.target in PROVIDED:
        provider = _provider(plan.target)
        if provider is None:
            raise ValidationFailed.field("stages", f"Routing to {plan.target.value} is not "
                                                   "available.")
        if not provider(assignment.firm_id):
            raise ValidationFailed.field("stages", f"You have no {plan.target.value} yet.")


def _audience(stage: RoutingStage, assignment: Assignment) -> list[int]:
    if stage.target == TargetKind.TECHNICIANS:
        return list(stage.target_ids)
    if stage.target == TargetKind.POOL:
        return list(db.session.scalars(select(PoolMember.technician_id).where(
            PoolMember.pool_id.in_(stage.target_ids),
            PoolMember.status == PoolMemberStatus.ACTIVE).distinct()))
    if stage.target == TargetKind.TOP_MATCHES:
        return [m.technician_id for m in match_technicians(assignment, k=stage.top_k or 10)]
    if stage.target in PROVIDED:
        provider = _provider(stage.target)
        return list(provider(assignment.firm_id)) if provider is not None else []
    return []


def start_stage(stage: RoutingStage) -> int:
    engagement = stage.engagement
    assignment = engagement.assignment
    stage.started_at = clock.now()
    if stage.target == TargetKind.MARKETPLACE:
        engagement.open_to_marketplace = True
        audit.record(Action.ASSIGNMENT_OPENED_TO_MARKETPLACE, assignment, firm_id=assignment.firm_id)
        return 0
    ids = eligible_ids(assignment, _audience(stage, assignment))
    sent = send_offers(assignment, ids, source=OfferSource.ROUTED, stage_id=stage.id)
    stage.offers_sent = len(sent)
    return len(sent)


def run_due_stages(assignment: Assignment, now: datetime | None = None) -> int:
    now = now or clock.now()
    started = 0
    for stage in db.session.scalars(select(RoutingStage).where(
            RoutingStage.assignment_id == assignment.id, RoutingStage.started_at.is_(None),
            RoutingStage.due_at <= now).order_by(RoutingStage.position)):
        start_stage(stage)
        started += 1
    return started


def advance_routing(now: datetime | None = None) -> int:
    """Start every due stage of assignments still looking for someone. Idempotent:
    a stage is claimed by a conditional UPDATE before it runs."""
    now = now or clock.now()
    due = db.session.execute(
        select(RoutingStage.id, RoutingStage.assignment_id)
        .join(Assignment, Assignment.id == RoutingStage.assignment_id)
        .where(RoutingStage.started_at.is_(None), RoutingStage.due_at <= now,
               Assignment.status == AssignmentStatus.PUBLISHED)
        .order_by(RoutingStage.due_at)).all()
    started = 0
    for stage_id, _ in due:
        claimed = db.session.execute(update(RoutingStage).where(
            RoutingStage.id == stage_id, RoutingStage.started_at.is_(None))
            .values(started_at=now).execution_options(synchronize_session=False)).rowcount
        if claimed:
            stage = db.session.get(RoutingStage, stage_id)
            db.session.refresh(stage)
            start_stage(stage)
            started += 1
    return started
