"""Notifications over JSON."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user
from sqlalchemy import select

from ..web.openapi import documented
from ..web.pagination import page_args, paginate
from . import services
from .models import Notification

bp = Blueprint("notifications_api", __name__)

NOTIFICATION_SCHEMA = {"type": "object", "required": [
    "id", "kind", "title", "body", "link", "created_at", "read_at"], "properties": {
    "id": {"type": "integer"}, "kind": {"type": "string", "example": "offer.received"},
    "title": {"type": "string"}, "body": {"type": "string"},
    "link": {"type": "string", "nullable": True, "description": "a path in the web app"},
    "created_at": {"type": "string", "format": "date-time"},
    "read_at": {"type": "string", "format": "date-time", "nullable": True}}}


def notification_json(n: Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "title": n.title, "body": n.body, "link": n.link,
            "created_at": n.created_at.isoformat(),
            "read_at": n.read_at.isoformat() if n.read_at else None}


@bp.get("/notifications")
@documented("Your notifications, newest first", tags=["notifications"], paginated=True,
            response=NOTIFICATION_SCHEMA)
def list_notifications():
    page, per_page = page_args(request.args)
    stmt = select(Notification).where(Notification.user_id == current_user.id) \
        .order_by(Notification.created_at.desc(), Notification.id.desc())
    return jsonify(paginate(stmt, page, per_page).to_json(notification_json))


@bp.post("/notifications/<int:notification_id>/read")
@documented("Mark one notification read", tags=["notifications"],
            response=NOTIFICATION_SCHEMA)
def read_notification(notification_id: int):
    note = services.access_notification(current_user, notification_id)
    services.mark_read(current_user, note)
    return jsonify(notification_json(note))
