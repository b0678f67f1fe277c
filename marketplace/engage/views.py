"""Engage pages: route an assignment, review offers, the technician's offer screen."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from ..accounts.access import firm_required, login_required, technician_required
from ..accounts.models import TechnicianProfile, User
from ..core.money import format_money
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..find.access import technician_may_see
from ..find.attachments import list_attachments
from ..find.directory import visible_ids
from ..find.models import TalentPool
from ..web.formkit import act, attempt, cents_or_none
from ..web.sections import OFFER, OfferSubject, sections_for
from . import backfill, marketplace, offers, queues, routing, timeline
from .access import (
    access_counteroffer,
    access_offer,
    firm_assignment,
    marketplace_assignment,
    technician_assignment,
)
from .forms import CounterForm, ReasonForm, RouteStagesForm
from .models import Cancellation, Engagement, RoutingMode, TargetKind

bp = Blueprint("engage", __name__)


# -- firm -------------------------------------------------------------------

def _stage_plans(form, firm_id: int) -> list[routing.StagePlan]:
    plans = []
    for i in (1, 2, 3):
        target = getattr(form, f"target_{i}").data
        if not target:
            continue
        plan = routing.StagePlan(TargetKind(target), after_minutes=getattr(form, f"after_{i}").data or 0,
                                 pool_ids=list(getattr(form, f"pools_{i}").data or []),
                                 top_k=getattr(form, f"top_k_{i}").data)
        if plan.target == TargetKind.TECHNICIANS:
            emails = [e.strip().lower() for e in (getattr(form, f"emails_{i}").data or "").split(",")
                      if e.strip()]
            found = dict(db.session.execute(select(User.email, TechnicianProfile.id)
                                            .join(TechnicianProfile, TechnicianProfile.user_id == User.id)
                                            .where(User.email.in_(emails))).all())
            # Whom the firm may not find is answered like an unknown address.
            visible = visible_ids(current_user, list(found.values()))
            found = {e: tid for e, tid in found.items() if tid in visible}
            missing = [e for e in emails if e not in found]
            if missing:
                raise ValidationFailed.field(f"emails_{i}", "No technician with: " + ", ".join(missing))
            plan.technician_ids = [found[e] for e in emails]
        plans.append(plan)
    return plans


@bp.route("/assignments/<int:assignment_id>/route", methods=["GET", "POST"])
@firm_required()
def route(assignment_id: int):
    assignment = firm_assignment(current_user, assignment_id)
    form = RouteStagesForm()
    pools = list(db.session.scalars(select(TalentPool).where(
        TalentPool.firm_id == assignment.firm_id).order_by(TalentPool.name)))
    for i in (1, 2, 3):
        getattr(form, f"pools_{i}").choices = [(p.id, p.name) for p in pools]
    if form.validate_on_submit():
        ok, _ = attempt(form, lambda: routing.route_assignment(
            current_user, assignment, mode=RoutingMode(form.mode.data),
            stages=_stage_plans(form, assignment.firm_id),
            offer_ttl_hours=form.offer_ttl_hours.data,
            cancellation_cutoff_hours=form.cancellation_cutoff_hours.data or 0,
            cancellation_fee_cents=cents_or_none(form.cancellation_fee.data,
                                                 "cancellation_fee") or 0,
            standby_size=form.standby_size.data))
        if ok:
            flash("Routed. Offers are on their way.", "success")
            return redirect(url_for("engage.engagement", assignment_id=assignment.id))
    return render_template("engage/route.html", form=form, assignment=assignment)


@bp.get("/assignments/<int:assignment_id>/engagement")
@firm_required()
def engagement(assignment_id: int):
    assignment = firm_assignment(current_user, assignment_id)
    return render_template(
        "engage/engagement.html", assignment=assignment,
        engagement=db.session.get(Engagement, assignment.id),
        offers=offers.list_assignment_offers(assignment),
        cancellation=db.session.scalar(select(Cancellation).where(
            Cancellation.assignment_id == assignment.id)),
        timeline=timeline.timeline(assignment),
        cancel_form=ReasonForm(prefix="cancel"), counter_form=CounterForm(prefix="counter"))


@bp.post("/offers/<int:offer_id>/choose")
@firm_required()
def choose(offer_id: int):
    offer = access_offer(current_user, offer_id)
    offers.choose_applicant(current_user, offer)
    flash(f"{offer.technician.name} has the assignment.", "success")
    return redirect(url_for("engage.engagement", assignment_id=offer.assignment_id))


@bp.post("/counteroffers/<int:counteroffer_id>/<any(accept, reject):decision>")
@firm_required()
def decide_as_firm(counteroffer_id: int, decision: str):
    counter = access_counteroffer(current_user, counteroffer_id)
    offers.decide_counteroffer(current_user, counter, decision == "accept")
    flash("Counteroffer accepted: assigned." if decision == "accept" else "Counteroffer rejected.",
          "success" if decision == "accept" else "info")
    return redirect(url_for("engage.engagement", assignment_id=counter.offer.assignment_id))


@bp.post("/assignments/<int:assignment_id>/cancel")
@firm_required()
def cancel(assignment_id: int):
    assignment = firm_assignment(current_user, assignment_id)
    form = ReasonForm(prefix="cancel")
    if not form.validate_on_submit():
        raise ValidationFailed.field("reason", "Say why you cancel.")
    record = backfill.cancel_assignment(current_user, assignment, form.reason.data)
    owed = f" A fee of {format_money(record.fee_cents, record.currency)} is owed." \
        if record.fee_cents else ""
    flash("Cancelled." + owed, "info")
    return redirect(url_for("engage.engagement", assignment_id=assignment.id))


# -- technician -------------------------------------------------------------

@bp.get("/offers")
@technician_required
def my_offers():
    try:
        show = queues.technician_list(request.args.get("show"))
    except ValidationFailed:
        show = None
    return render_template("engage/my_offers.html", show=show,
                           offers=queues.technician_offers(current_user, show))


@bp.get("/offers/<int:offer_id>")
@technician_required
def offer(offer_id: int):
    item = access_offer(current_user, offer_id)
    files = (list_attachments(item.assignment)
             if technician_may_see(item.technician_id, item.assignment) else [])
    return render_template("engage/offer.html", offer=item, assignment=item.assignment,
                           files=files, sections=sections_for(
                               OFFER, OfferSubject(current_user, item, item.assignment)),
                           engagement=db.session.get(Engagement, item.assignment_id),
                           decline_form=ReasonForm(prefix="decline"),
                           counter_form=CounterForm(prefix="counter"),
                           backout_form=ReasonForm(prefix="backout"))


def _after(item, message: str, category: str = "success"):
    flash(message, category)
    return redirect(url_for("engage.offer", offer_id=item.id))


@bp.post("/offers/<int:offer_id>/accept")
@technician_required
def accept(offer_id: int):
    item = access_offer(current_user, offer_id)
    offers.accept_offer(current_user, item)
    return _after(item, "It's yours. See you on site.")


@bp.post("/offers/<int:offer_id>/apply")
@technician_required
def apply(offer_id: int):
    item = access_offer(current_user, offer_id)
    offers.apply_to_offer(current_user, item)
    return _after(item, "Applied. The firm will choose soon.")


@bp.post("/offers/<int:offer_id>/decline")
@technician_required
def decline(offer_id: int):
    item = access_offer(current_user, offer_id)
    form = ReasonForm(prefix="decline")
    offers.decline_offer(current_user, item, form.reason.data or "")
    return _after(item, "Declined.", "info")


@bp.post("/offers/<int:offer_id>/counter")
@login_required
def counter(offer_id: int):
    """Either side proposes new terms (the service knows which side is asking)."""
    item = access_offer(current_user, offer_id)
    form = CounterForm(prefix="counter")
    if not form.validate_on_submit():
        raise ValidationFailed("Check the counteroffer.",
                               fields={k: v[0] for k, v in form.errors.items()})
    starts_at = ends_at = None
    if form.starts_at.data:
        zone = ZoneInfo(item.assignment.timezone)
        starts_at = form.starts_at.data.replace(tzinfo=zone)
        ends_at = starts_at + timedelta(hours=form.hours.data or 2)
    offers.propose_counteroffer(current_user, item,
                                price_cents=cents_or_none(form.price.data, "price"),
                                expenses_cents=cents_or_none(form.expenses.data, "expenses") or 0,
                                starts_at=starts_at, ends_at=ends_at, note=form.note.data or "")
    flash("Counteroffer sent.", "success")
    if current_user.technician is not None:
        return redirect(url_for("engage.offer", offer_id=item.id))
    return redirect(url_for("engage.engagement", assignment_id=item.assignment_id))


@bp.post("/offers/counteroffers/<int:counteroffer_id>/<any(accept, reject):decision>")
@technician_required
def decide_as_technician(counteroffer_id: int, decision: str):
    item = access_counteroffer(current_user, counteroffer_id)
    offers.decide_counteroffer(current_user, item, decision == "accept")
    return _after(item.offer, "Accepted: it's yours." if decision == "accept" else "Rejected.")


@bp.post("/work/<int:assignment_id>/back-out")
@technician_required
def back_out(assignment_id: int):
    assignment = technician_assignment(current_user, assignment_id)
    form = ReasonForm(prefix="backout")
    offer_id = db.session.scalar(select(offers.Offer.id).where(
        offers.Offer.assignment_id == assignment.id,
        offers.Offer.technician_id == current_user.technician.id))
    backfill.back_out(current_user, assignment, form.reason.data or "")
    flash("You are off this assignment. The firm has been told.", "info")
    return redirect(url_for("engage.offer", offer_id=offer_id) if offer_id else url_for("engage.my_offers"))


@bp.get("/marketplace/<int:assignment_id>")
@technician_required
def marketplace_detail(assignment_id: int):
    """Work opened to the marketplace, as any qualified technician sees it before taking it."""
    assignment = marketplace_assignment(current_user, assignment_id)
    held = marketplace.held_offer(current_user, assignment)
    if held is not None:
        return redirect(url_for("engage.offer", offer_id=held.id))
    engagement = db.session.get(Engagement, assignment.id)
    return render_template("engage/marketplace.html", assignment=assignment, engagement=engagement,
                           button=marketplace.BUTTONS[engagement.mode])


@bp.post("/assignments/<int:assignment_id>/take")
@technician_required
def take_from_marketplace(assignment_id: int):
    """Open an offer for marketplace work; with `respond` (the feed's button), also take it
    (first to accept) or apply (apply and choose)."""
    if not request.form.get("respond"):
        assignment = marketplace_assignment(current_user, assignment_id)
        item = offers.request_marketplace_offer(current_user, assignment)
        return redirect(url_for("engage.offer", offer_id=item.id))
    try:
        assignment = marketplace_assignment(current_user, assignment_id)
    except NotFound:    # taken or withdrawn since the feed was loaded (or never open)
        flash("Sorry, this work is no longer open.", "error")
        return redirect(url_for("find.feed"))
    mode = db.session.get(Engagement, assignment.id).mode
    ok, item = act(lambda: marketplace.respond_from_marketplace(current_user, assignment),
                   "It's yours. See you on site." if mode == RoutingMode.FIRST_TO_ACCEPT
                   else "Applied. The firm will choose soon.")
    if not ok:
        return redirect(url_for("find.feed"))
    return redirect(url_for("engage.offer", offer_id=item.id))
