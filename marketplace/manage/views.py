"""Manage's pages: the technician's Today screen and work page, the firm's review."""
from __future__ import annotations

import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.access import firm_required, login_required, technician_required
from ..accounts.models import Role
from ..core import clock
from ..core.uploads import Upload, file_response
from ..errors import NotFound, ValidationFailed
from ..extensions import db
from ..integrations import storage
from ..web.formkit import act
from . import arrival, changes, day, proof, review, settings as settings_svc, sync, visits
from . import messages as messages_svc
from . import sla
from .access import access_work
from .uploads_in import action_with_file
from .models import EXPENSE_CATEGORIES, ProofFile, WorkRecord

bp = Blueprint("manage", __name__)


def new_key() -> str:
    """A fresh idempotency key for a form: a double submit applies once."""
    return uuid.uuid4().hex


@bp.get("/today")
@technician_required
def today():
    plan = day.today_and_week(current_user.technician)
    return render_template("manage/today.html", plan=plan, new_key=new_key,
                           now=clock.now())


@bp.get("/work/<int:work_id>")
@login_required
def work(work_id: int):
    a = access_work(current_user, work_id)
    record, now, seen = db.session.get(WorkRecord, a.id), clock.now(), visits.visits_of(a)
    context = {"a": a, "tasks": proof.progress(a), "visits": seen,
               "record": record, "changes": changes.changes_of(a),
               "clocks": sla.clocks(a, record, visits.accepted_at(a)),
               "new_key": new_key, "categories": EXPENSE_CATEGORIES,
               "seconds_on_site": visits.seconds_on_site_so_far(seen, now), "now": now}
    if getattr(current_user, "is_firm_user", False):
        context["amounts"] = review.amounts(a) if a.assignee_id else None
        context["state"] = arrival.state_of(a, context["record"], clock.now())
        return render_template("manage/review.html", **context)
    return render_template("manage/work.html", **context)


def _back(work_id: int):
    return redirect(url_for("manage.work", work_id=work_id))


def _action_from_form(action: str, assignment_id: int, data: dict) -> dict:
    return {"key": request.form.get("key") or new_key(), "action": action,
            "assignment_id": assignment_id,
            "recorded_at": request.form.get("recorded_at") or clock.now().isoformat(),
            "data": data}


def _position_from_form() -> dict | None:
    if not request.form.get("lat"):
        return None
    return {"lat": request.form.get("lat"), "lon": request.form.get("lon"),
            "accuracy": request.form.get("accuracy"),
            "taken_at": request.form.get("taken_at") or None}


def _flash_outcome(outcome: sync.Outcome, success: str) -> None:
    from flask import flash
    if outcome.status < 400:
        flash(success, "success")
    else:
        error = outcome.result["error"]
        flash(next(iter(error["fields"].values()), error["message"]), "error")


@bp.post("/work/<int:work_id>/check-<any(in, out):which>")
@technician_required
def check(work_id: int, which: str):
    access_work(current_user, work_id)
    data = {"position": _position_from_form(), "reason": request.form.get("reason", "")}
    outcome = sync.apply(current_user, _action_from_form(f"check_{which}", work_id, data))
    word = "in" if which == "in" else "out"
    _flash_outcome(outcome, f"Checked {word}.")
    return _back(work_id)


@bp.post("/work/<int:work_id>/tasks/<key>")
@technician_required
def answer(work_id: int, key: str):
    access_work(current_user, work_id)
    form = request.form
    value = {"done": True} if "done" in form else {
        k: form[k] for k in ("text", "number", "choice") if k in form}
    outcome = sync.apply(current_user, _action_from_form(
        "answer", work_id, {"task": key, "value": value}))
    _flash_outcome(outcome, "Saved.")
    return _back(work_id)


@bp.post("/work/<int:work_id>/tasks/<key>/proof")
@technician_required
def add_proof(work_id: int, key: str):
    access_work(current_user, work_id)
    file = request.files.get("file")
    upload = Upload(filename=getattr(file, "filename", "") or "", data=file.read() if file else b"")
    data = {"task": key, "signer_name": request.form.get("signer_name")}
    position = _position_from_form()
    if position:
        data["position"] = {"lat": float(position["lat"]), "lon": float(position["lon"])}
    outcome = sync.apply(current_user, _action_from_form("proof", work_id, data),
                         upload=upload)
    _flash_outcome(outcome, "Added.")
    return _back(work_id)


@bp.post("/work/sync")
@technician_required
def sync_queue():
    """The phone's queue, drained in order (JSON; a proof's file comes as multipart)."""
    if request.files:
        item, upload = action_with_file()
        return jsonify({"results": [sync.apply(current_user, item, upload).as_dict()]})
    body = request.get_json(silent=True)
    items = body.get("actions") if isinstance(body, dict) else None
    return jsonify({"results": [o.as_dict() for o in sync.apply_batch(current_user, items)]})


@bp.post("/work/<int:work_id>/submit")
@technician_required
def submit(work_id: int):
    a = access_work(current_user, work_id)
    act(lambda: review.submit(current_user, a, request.form.get("note", "")),
        "Submitted. The firm will review it.", field="tasks")
    return _back(work_id)


@bp.post("/work/<int:work_id>/changes")
@technician_required
def request_change(work_id: int):
    a = access_work(current_user, work_id)
    file = request.files.get("receipt")
    receipt = Upload(filename=file.filename or "", data=file.read()) if file else None
    act(lambda: changes.request_change(
        current_user, a, kind=request.form.get("kind", ""), amount=request.form.get("amount"),
        category=request.form.get("category", ""), reason=request.form.get("reason", ""),
        receipt=receipt), "Sent to the firm.")
    return _back(work_id)


@bp.post("/work/<int:work_id>/approve")
@firm_required()
def approve(work_id: int):
    a = access_work(current_user, work_id)
    act(lambda: review.approve(current_user, a), "Approved.")
    return _back(work_id)


@bp.post("/work/<int:work_id>/send-back")
@firm_required()
def send_back(work_id: int):
    a = access_work(current_user, work_id)
    act(lambda: review.send_back(current_user, a, request.form.get("reason", "")),
        "Sent back to the technician.", field="reason")
    return _back(work_id)


@bp.post("/work/<int:work_id>/reroute")
@firm_required()
def reroute(work_id: int):
    a = access_work(current_user, work_id)

    def run():
        starts_at = _local(a.timezone, request.form.get("date"), request.form.get("start_time"))
        ends_at = _local(a.timezone, request.form.get("date"), request.form.get("end_time"))
        if ends_at <= starts_at:
            raise ValidationFailed.field("end_time", "The window ends after it starts.")
        arrival.reroute_no_show(current_user, a, starts_at, ends_at)

    act(run, "Taken back and offered to your standby technicians.")
    return redirect(url_for("engage.engagement", assignment_id=a.id))


def _local(tz: str, day_text: str | None, time_text: str | None) -> datetime:
    try:
        moment = datetime.fromisoformat(f"{day_text}T{time_text}")
    except (TypeError, ValueError):
        raise ValidationFailed.field("date", "Give a new date and window.") from None
    return moment.replace(tzinfo=ZoneInfo(tz)).astimezone(ZoneInfo("UTC"))


@bp.post("/changes/<int:change_id>/<any(approve, decline):decision>")
@firm_required()
def decide_change(change_id: int, decision: str):
    change = changes.access_change(current_user, change_id)
    act(lambda: changes.decide_change(current_user, change, decision == "approve",
                                      request.form.get("reason", "")),
        "Approved." if decision == "approve" else "Declined.", field="reason")
    return _back(change.assignment_id)


@bp.get("/proof/<int:proof_id>")
@login_required
def proof_file(proof_id: int):
    item = db.session.get(ProofFile, proof_id)
    if item is None:
        raise NotFound()
    access_work(current_user, item.assignment_id)
    thumb = request.args.get("size") == "thumb" and item.thumb_key
    data = storage.load(item.thumb_key if thumb else item.storage_key)
    return file_response(data, "image/jpeg" if thumb else item.mime, item.filename,
                         inline=item.mime.startswith("image/"))


@bp.route("/manage/settings", methods=["GET", "POST"])
@firm_required(Role.OWNER, Role.MANAGER)
def settings():
    current = settings_svc.for_firm(current_user.membership.firm_id)
    if request.method == "POST":
        ok, _ = act(lambda: settings_svc.save(current_user, request.form), "Saved.")
        if ok:
            return redirect(url_for("manage.settings"))
    return render_template("manage/settings.html", settings=current, form=request.form)



@bp.get("/sw.js")
def service_worker():
    """The work app's service worker, served from the root so its scope covers the app."""
    from flask import current_app, send_from_directory
    response = send_from_directory(current_app.static_folder, "sw.js",
                                   mimetype="text/javascript", max_age=0)
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


# --- messages -----------------------------------------------------------------------------

@bp.get("/messages")
@login_required
def messages():
    return render_template("manage/messages.html",
                           threads=messages_svc.threads_for(current_user))


@bp.route("/work/<int:work_id>/messages", methods=["GET", "POST"])
@bp.route("/work/<int:work_id>/messages/<int:technician_id>", methods=["GET", "POST"])
@login_required
def thread(work_id: int, technician_id: int | None = None):
    conversation = messages_svc.access_thread(current_user, work_id, technician_id)
    if request.method == "POST":
        file = request.files.get("file")
        upload = Upload(filename=file.filename or "", data=file.read()) if file else None
        ok, _ = act(lambda: messages_svc.post(current_user, conversation,
                                              request.form.get("body", ""), upload),
                    "Sent.", field="body")
        if ok:
            return redirect(request.path)
    else:
        messages_svc.mark_read(current_user, conversation)
    return render_template("manage/thread.html", thread=conversation,
                           messages=messages_svc.messages_of(conversation))


@bp.get("/messages/<int:message_id>/file")
@login_required
def message_file(message_id: int):
    item = db.session.get(messages_svc.Message, message_id)
    if item is None or item.file_key is None:
        raise NotFound()
    messages_svc.access_thread(current_user, item.assignment_id, item.technician_id)
    return file_response(storage.load(item.file_key), item.file_mime, item.file_name or "file",
                         inline=item.file_mime.startswith("image/"))


@bp.route("/pools/<int:pool_id>/announce", methods=["GET", "POST"])
@firm_required()
def announce(pool_id: int):
    from ..find.access import access_pool
    pool = access_pool(current_user, pool_id)
    if request.method == "POST":
        ok, item = act(lambda: messages_svc.announce(current_user, pool,
                                                     request.form.get("title", ""),
                                                     request.form.get("body", "")),
                       lambda item: f"Sent to {item.recipients} active "
                                    f"{'member' if item.recipients == 1 else 'members'}.",
                       field="body")
        if ok:
            return redirect(url_for("find.pool", pool_id=pool.id))
    return render_template("manage/announce.html", pool=pool, form=request.form)
