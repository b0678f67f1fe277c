"""The notification inbox."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user

from ..accounts.access import login_required
from . import services

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
