"""The notification inbox."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.access import admin_required, firm_required, login_required
from ..web.formkit import act
from . import delivery, preferences, services
from . import webhooks as webhooks_svc

bp = Blueprint("notifications", __name__)


@bp.get("/notifications")
@login_required
def inbox():
    return render_template("notifications/inbox.html",
                           notifications=services.list_for(current_user))


@bp.post("/notifications/read")
@login_required
def mark_all_read():
    services.mark_read(current_user)
    return redirect(url_for("notifications.inbox"))


@bp.post("/notifications/<int:notification_id>/open")
@login_required
def open_notification(notification_id: int):
    note = services.access_notification(current_user, notification_id)
    services.mark_read(current_user, note)
    return redirect(note.link or url_for("notifications.inbox"))


# --- webhooks (firm) and the outbox (admin) -----------------------------------------------

@bp.route("/settings/webhooks", methods=["GET", "POST"])
@firm_required()
def webhooks():
    new_secret = None
    if request.method == "POST":
        ok, made = act(lambda: webhooks_svc.create_endpoint(
            current_user, url=request.form.get("url", ""),
            event_types=request.form.getlist("event_types"),
            description=request.form.get("description", "")),
            "Endpoint added. Copy its signing secret now: it is shown once.", field="url")
        if ok:
            new_secret = made[1]
    return render_template("notifications/webhooks.html",
                           endpoints=webhooks_svc.list_endpoints(current_user),
                           event_types=webhooks_svc.EVENT_TYPES, new_secret=new_secret,
                           form=request.form)


@bp.get("/settings/webhooks/<int:endpoint_id>")
@firm_required()
def webhook(endpoint_id: int):
    endpoint = webhooks_svc.access_endpoint(current_user, endpoint_id)
    return render_template("notifications/webhook.html", endpoint=endpoint,
                           deliveries=webhooks_svc.deliveries(endpoint),
                           event_types=webhooks_svc.EVENT_TYPES, new_secret=None)


@bp.post("/settings/webhooks/<int:endpoint_id>/rotate")
@firm_required()
def rotate_webhook_secret(endpoint_id: int):
    endpoint = webhooks_svc.access_endpoint(current_user, endpoint_id)
    ok, secret = act(lambda: webhooks_svc.rotate_secret(current_user, endpoint),
                     "New secret made; the old one signs beside it for 24 hours.")
    return render_template("notifications/webhook.html", endpoint=endpoint,
                           deliveries=webhooks_svc.deliveries(endpoint),
                           event_types=webhooks_svc.EVENT_TYPES,
                           new_secret=secret if ok else None)


@bp.post("/settings/webhooks/<int:endpoint_id>/<any(enable, disable):state>")
@firm_required()
def switch_webhook(endpoint_id: int, state: str):
    endpoint = webhooks_svc.access_endpoint(current_user, endpoint_id)
    act(lambda: webhooks_svc.set_enabled(current_user, endpoint, state == "enable"),
        "Turned on." if state == "enable" else "Turned off.")
    return redirect(url_for("notifications.webhook", endpoint_id=endpoint.id))


@bp.post("/settings/webhook-deliveries/<int:delivery_id>/resend")
@firm_required()
def resend_webhook(delivery_id: int):
    message = webhooks_svc.access_delivery(current_user, delivery_id)
    act(lambda: webhooks_svc.resend(current_user, message), "Queued to send again.")
    return redirect(url_for("notifications.webhook",
                            endpoint_id=message.payload["endpoint_id"]))


@bp.get("/admin/outbox")
@admin_required
def outbox_admin():
    status = request.args.get("status") or None
    messages = delivery.recent(status)
    return render_template("notifications/outbox.html", status=status, messages=messages,
                           described=delivery.described(messages), counts=delivery.counts())


@bp.post("/admin/outbox/<int:outbox_id>/resend")
@admin_required
def outbox_resend(outbox_id: int):
    act(lambda: delivery.resend_as_admin(outbox_id), "Queued to send again.")
    return redirect(url_for("notifications.outbox_admin"))


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def preferences_page():
    if request.method == "POST":
        ok, _ = act(lambda: preferences.save(current_user, request.form), "Saved.")
        if ok:
            return redirect(url_for("notifications.preferences_page"))
    return render_template("notifications/preferences.html",
                           choices=preferences.choices(current_user))
