"""Dashboard panels: the technician's next job; the firm's work waiting for review."""
from __future__ import annotations

from sqlalchemy import func, select

from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.models import Assignment
from . import day


def technician_today(user) -> dict:
    plan = day.today_and_week(user.technician)
    return {"next": plan["next"], "count_today": len(plan["today"]) + (1 if plan["next"] else 0)}


def firm_review(user) -> dict:
    firm_id = user.membership.firm_id
    waiting = list(db.session.scalars(select(Assignment).where(
        Assignment.firm_id == firm_id, Assignment.status == S.SUBMITTED)
        .order_by(Assignment.updated_at).limit(5)))
    in_progress = db.session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.firm_id == firm_id, Assignment.status == S.IN_PROGRESS)) or 0
    return {"waiting": waiting, "in_progress": in_progress}
