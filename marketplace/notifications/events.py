"""Lifecycle moves, told to the firm's webhook endpoints.

Notifications sits below the stages that move assignments, so it reads the
assignment it is sent as a plain object (id, firm, title, states) and never
imports them.
"""
from __future__ import annotations

from . import webhooks

# (from, to) or (None, to) -> event type; actions tell a backout from an offboarding.
_BY_TARGET = {"published": "assignment.published", "assigned": "assignment.assigned",
              "submitted": "assignment.submitted", "approved": "assignment.approved",
              "cancelled": "assignment.cancelled"}
_RELEASES = {"assignment.offboarded": "assignment.offboarding"}


def event_for(from_state: str, to_state: str, action: str) -> str | None:
    if from_state == "assigned" and to_state == "published":
        return _RELEASES.get(action, "assignment.backout")
    if to_state == "in_progress":
        return "assignment.checked_in" if from_state == "assigned" else None
    return _BY_TARGET.get(to_state)


def on_transition(assignment, *, from_state, to_state, action, **_) -> None:
    kind = event_for(str(from_state), str(to_state), str(action))
    if kind is None:
        return
    webhooks.emit(assignment.firm_id, kind, {
        "assignment_id": assignment.id, "title": assignment.title,
        "status": str(to_state), "previous_status": str(from_state),
        "technician_id": assignment.assignee_id,
        "starts_at": assignment.starts_at.isoformat() if assignment.starts_at else None})
