"""JSON shapes of find's objects, shared by the API (and tests)."""
from __future__ import annotations

from .attachment_models import Attachment
from .models import Assignment, AssignmentTemplate, PoolMember, TalentPool


def _iso(value):
    return value.isoformat() if value else None


def assignment_json(a: Assignment) -> dict:
    return {
        "id": a.id, "title": a.title, "description": a.description, "status": a.status.value,
        "address": a.address, "lat": a.lat, "lon": a.lon, "timezone": a.timezone,
        "radius_km": a.radius_km, "schedule_kind": a.schedule_kind.value,
        "starts_at": _iso(a.starts_at), "ends_at": _iso(a.ends_at),
        "pricing": a.pricing.value, "rate_cents": a.rate_cents,
        "hourly_rate_cents": a.hourly_rate_cents, "max_hours": a.max_hours,
        "fixed_hours": a.fixed_hours, "budget_cents": a.budget_cents, "currency": a.currency,
        "checklist": a.checklist or [], "geofence_m": a.geofence_m,
        "sla_response_minutes": a.sla_response_minutes,
        "sla_arrival_minutes": a.sla_arrival_minutes,
        "sla_completion_minutes": a.sla_completion_minutes,
        "requirement_set_id": a.requirement_set_id,
        "skills": [{"skill_id": s.skill_id, "min_level": s.min_level} for s in a.skills],
        "agreed_price_cents": a.agreed_price_cents,
        "agreed_expenses_cents": a.agreed_expenses_cents,
        "assignee_id": a.assignee_id, "version": a.version, "firm_id": a.firm_id,
    }


def template_json(t: AssignmentTemplate) -> dict:
    return {"id": t.id, "name": t.name, "data": t.data, "created_at": _iso(t.created_at)}


def pool_json(p: TalentPool) -> dict:
    return {"id": p.id, "name": p.name, "description": p.description,
            "visibility": p.visibility.value, "requirement_set_id": p.requirement_set_id}


def member_json(m: PoolMember) -> dict:
    return {"technician_id": m.technician_id, "name": m.technician.name,
            "status": m.status.value, "removed_reason": m.removed_reason}


def attachment_json(a: Attachment) -> dict:
    return {"id": a.id, "assignment_id": a.assignment_id, "template_id": a.template_id,
            "filename": a.filename, "mime": a.mime, "size_bytes": a.size_bytes,
            "created_at": _iso(a.created_at),
            "download_url": f"/api/v1/attachments/{a.id}"}
