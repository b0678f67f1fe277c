"""Rate's pages: rating a piece of work, the technician's own scorecard, a firm's lists,
and the admin's moderation queue."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.access import admin_required, firm_required, login_required, technician_required
from ..core import clock
from ..extensions import db
from ..find.directory import access_technician
from ..manage.access import access_work
from ..web.formkit import act
from . import gates, lists, moderation, outliers, ratings, scorecards
from .access import access_dispute, access_own_event, access_rating, access_report
from .models import Direction

bp = Blueprint("rate", __name__)


def _rating_form() -> dict:
    return {k: v for k, v in request.form.items() if k != "csrf_token"}


@bp.route("/work/<int:work_id>/rating", methods=["GET", "POST"])
@login_required
def work_ratings(work_id: int):
    a = access_work(current_user, work_id)
    errors: dict[str, str] = {}
    typed: dict = {}
    if request.method == "POST":
        typed = _rating_form()
        from ..errors import InvalidState, ValidationFailed
        try:
            given = ratings.rate(current_user, a, typed)
        except (ValidationFailed, InvalidState) as exc:
            db.session.rollback()
            errors = exc.fields or {"overall": exc.message}
        else:
            from flask import flash
            flash("Thanks: your rating is saved. Both sides have rated, so both ratings are "
                  "now visible." if given.revealed_at else
                  "Thanks: your rating is saved. It stays sealed until both sides have rated "
                  f"or {ratings.RATING_DAYS} days have passed.", "success")
            return redirect(url_for("rate.work_ratings", work_id=a.id))
    pair = ratings.pair_for(current_user, a)
    mine = pair.mine
    if not typed and mine is not None:
        typed = {k: getattr(mine, k) for k in ("overall", "comment", "private_feedback",
                                               *ratings.FIRM_ASPECTS, *ratings.TECH_ASPECTS,
                                               "would_hire_again", "site_not_ready")}
    return render_template("rate/work.html", a=a, pair=pair, errors=errors, typed=typed,
                           aspects=ratings.FIRM_ASPECTS if pair.side == Direction.OF_TECHNICIAN
                           else ratings.TECH_ASPECTS, labels=ratings.ASPECT_LABELS,
                           edit_hours=ratings.EDIT_HOURS, days=ratings.RATING_DAYS,
                           can_contest=pair.theirs is not None and moderation.can_contest(
                               current_user, pair.theirs),
                           now=clock.now()), (422 if errors else 200)


@bp.post("/ratings/<int:rating_id>/reply")
@technician_required
def reply(rating_id: int):
    rating = access_rating(current_user, rating_id)
    act(lambda: ratings.reply(current_user, rating, request.form.get("reply", "")),
        "Your reply is published.", field="reply")
    return redirect(request.form.get("next") or url_for("rate.my_scorecard"))


@bp.post("/ratings/<int:rating_id>/report")
@login_required
def report(rating_id: int):
    rating = access_rating(current_user, rating_id)
    act(lambda: moderation.report(current_user, rating, request.form.get("reason", "")),
        "Thanks: the platform will look at this comment.", field="reason")
    return redirect(url_for("rate.work_ratings", work_id=rating.assignment_id))


@bp.post("/ratings/<int:rating_id>/contest-site")
@firm_required()
def contest_site(rating_id: int):
    rating = access_rating(current_user, rating_id)
    act(lambda: moderation.contest_site_report(current_user, rating,
                                               request.form.get("reason", "")),
        "Your firm's contest is with the platform; an admin will decide.", field="reason")
    return redirect(url_for("rate.work_ratings", work_id=rating.assignment_id))


@bp.get("/me/scorecard")
@technician_required
def my_scorecard():
    sc = scorecards.scorecard(current_user.technician, with_events=True)
    return render_template("rate/my_scorecard.html", sc=sc,
                           received=ratings.public_ratings_of_technician(sc.technician.id),
                           dispute_days=scorecards.DISPUTE_DAYS)


@bp.post("/me/events/<int:event_id>/dispute")
@technician_required
def dispute(event_id: int):
    event = access_own_event(current_user, event_id)
    act(lambda: moderation.dispute(current_user, event, request.form.get("reason", "")),
        "Your dispute is with the platform; an admin will decide.", field="reason")
    return redirect(url_for("rate.my_scorecard"))


@bp.get("/technicians/<int:technician_id>/ratings")
@login_required
def technician_ratings(technician_id: int):
    tech = access_technician(current_user, technician_id)
    return render_template("rate/technician_ratings.html", tech=tech,
                           received=ratings.public_ratings_of_technician(tech.id, 100),
                           labels=ratings.ASPECT_LABELS)


@bp.get("/firm/technician-lists")
@firm_required()
def firm_lists():
    firm_id = current_user.firm.id
    return render_template("rate/lists.html", favourites=lists.favourites_of(firm_id),
                           blocks=lists.blocks_of(firm_id), sets=gates.firm_sets(firm_id))


def _back_to_profile(technician_id: int):
    return redirect(request.form.get("next") or
                    url_for("people.technician", technician_id=technician_id))


@bp.post("/technicians/<int:technician_id>/note")
@firm_required()
def save_note(technician_id: int):
    tech = access_technician(current_user, technician_id)
    act(lambda: lists.save_note(current_user, tech, request.form.get("body", "")),
        "Note saved (only your firm sees it).", field="body")
    return _back_to_profile(tech.id)


@bp.post("/technicians/<int:technician_id>/favourite")
@firm_required()
def favourite(technician_id: int):
    tech = access_technician(current_user, technician_id)
    if request.form.get("remove"):
        act(lambda: lists.remove_favourite(current_user, tech),
            f"{tech.name} is no longer a favourite.")
    else:
        act(lambda: lists.add_favourite(current_user, tech), f"{tech.name} is a favourite.")
    return _back_to_profile(tech.id)


@bp.post("/technicians/<int:technician_id>/block")
@firm_required()
def block(technician_id: int):
    tech = access_technician(current_user, technician_id)
    if request.form.get("remove"):
        act(lambda: lists.unblock(current_user, tech), f"{tech.name} is unblocked.")
    else:
        act(lambda: lists.block(current_user, tech, request.form.get("reason", "")),
            f"{tech.name} is blocked: never matched, routed or offered your work.",
            field="reason")
    return _back_to_profile(tech.id)


@bp.get("/admin/ratings")
@admin_required
def admin_queue():
    return render_template("rate/admin.html", reports=moderation.open_reports(),
                           disputes=moderation.open_disputes(),
                           outliers=outliers.find_outliers())


@bp.post("/admin/ratings/<int:rating_id>/hide")
@admin_required
def hide(rating_id: int):
    rating = access_rating(current_user, rating_id)
    act(lambda: moderation.hide(current_user, rating, request.form.get("reason", "")),
        "The comment is hidden.", field="reason")
    return redirect(url_for("rate.admin_queue"))


@bp.post("/admin/rating-reports/<int:report_id>/dismiss")
@admin_required
def dismiss(report_id: int):
    item = access_report(current_user, report_id)
    act(lambda: moderation.dismiss(current_user, item), "The comment stays.")
    return redirect(url_for("rate.admin_queue"))


@bp.post("/admin/rate-disputes/<int:dispute_id>/decide")
@admin_required
def decide(dispute_id: int):
    item = access_dispute(current_user, dispute_id)
    uphold = request.form.get("decision") == "uphold"
    act(lambda: moderation.decide(current_user, item, uphold, request.form.get("note", "")),
        "Dispute upheld: the event no longer counts." if uphold else "Dispute rejected.")
    return redirect(url_for("rate.admin_queue"))


@bp.route("/requirements/<int:set_id>/minimums", methods=["GET", "POST"])
@firm_required()
def requirement_minimums(set_id: int):
    from ..verify.catalog import access_requirement_set
    rset = access_requirement_set(current_user, set_id, edit=True)
    errors: dict[str, str] = {}
    if request.method == "POST":
        from ..errors import InvalidState, ValidationFailed
        try:
            gates.set_minimums(current_user, rset, **_minimums_from(request.form))
        except (ValidationFailed, InvalidState, ValueError) as exc:
            db.session.rollback()
            errors = getattr(exc, "fields", None) or {"min_reliability": "Enter whole numbers."}
        else:
            from flask import flash
            flash("Minimum scores saved: technicians below them no longer qualify.", "success")
            return redirect(url_for("rate.requirement_minimums", set_id=rset.id))
    reliability, rating_x100, jobs = gates.minimums(rset.id)
    typed = request.form if request.method == "POST" else {
        "min_reliability": reliability if reliability is not None else "",
        "min_rating": f"{rating_x100 / 100:.1f}" if rating_x100 is not None else "",
        "min_completed_jobs": jobs if jobs is not None else ""}
    return render_template("rate/minimums.html", rset=rset, typed=typed,
                           errors=errors), (422 if errors else 200)


def _minimums_from(form) -> dict:
    def number(name, kind):
        raw = (form.get(name) or "").strip()
        if not raw:
            return None
        try:
            return kind(raw)
        except ValueError:
            from ..errors import ValidationFailed
            raise ValidationFailed.field(name, "Enter a number.") from None
    return {"min_reliability": number("min_reliability", int),
            "min_rating": number("min_rating", float),
            "min_completed_jobs": number("min_completed_jobs", int)}
