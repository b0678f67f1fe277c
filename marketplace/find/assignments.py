"""Assignments: create, edit, publish, list; templates and duplicates; CSV bulk creation.

Services take plain values and the acting user, add and flush, never commit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update

from ..accounts.models import Skill, User
from ..accounts.policy import check_budget_limit, exceeds_budget_limit, require_member
from ..core import audit, clock
from ..core.actions import Action
from ..core.money import (
    MAX_CENTS,
    cents,
    currency_code,
    format_money,
    hourly_cents,
    minutes,
    parse_amount,
)
from ..errors import InvalidState, ValidationFailed
from ..extensions import db
from ..integrations import geocoding
from ..verify.models import RequirementSet
from .attachments import copy_attachments
from .lifecycle import OPEN_STATES, transition
from . import checklist
from .models import (
    WINDOW_HOURS,
    WINDOW_RULE,
    Assignment,
    AssignmentSkill,
    AssignmentStatus,
    AssignmentTemplate,
    Pricing,
    ScheduleKind,
)

EDITABLE = OPEN_STATES  # the window and terms change only before anyone has the work
STALE_EDIT = ("Someone changed this assignment after you opened it, so your edit was not "
              "saved.")
STALE_EDIT_NEXT = ("Your changes are kept below. Check the assignment as it is now, then save "
                   "again to apply them over it.")


# SLA targets in minutes (None: no target): accepted after publishing, checked in after
# the window's start, submitted after the window's end.
SLA_BOUNDS = {"sla_response_minutes": (5, 10080), "sla_arrival_minutes": (0, 1440),
              "sla_completion_minutes": (0, 43200)}


def _firm_user(user: User) -> int:
    """The acting user's firm: only its members manage assignments (accounts.policy)."""
    return require_member(user, message="Only firm members manage assignments.").firm_id


def parse_time(value: Any, name: str) -> time | None:
    if value in (None, ""):
        return None
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed.field(name, "Enter a time like 09:00.") from None


def _parse_date(value: Any, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValidationFailed.field(name, "Enter a date like 2030-06-03.") from None


def _int(value: Any, name: str, lo: int, hi: int, default: int | None = None) -> int:
    if value in (None, "") and default is not None:
        return default
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed.field(name, f"Enter a whole number from {lo} to {hi}.") from None
    if not lo <= number <= hi:
        raise ValidationFailed.field(name, f"Enter a whole number from {lo} to {hi}.")
    return number


def _hours(value: Any, name: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        hours = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed.field(name, "Enter hours like 4 or 2.5.") from None
    if not 0 < hours <= 200:
        raise ValidationFailed.field(name, "Enter between 0 and 200 hours.")
    return hours


def _amount_key(data: dict, name: str) -> str:
    """Where the caller gave an amount: `<name>_cents` (whole cents) or `<name>` (typed)."""
    return f"{name}_cents" if data.get(f"{name}_cents") is not None else name


def _amount(data: dict, name: str) -> int | None:
    key = _amount_key(data, name)
    if key != name:
        return cents(data[key], key)
    value = data.get(name)
    if value in (None, ""):
        return None
    return parse_amount(value, name, allow_zero=False)


@dataclass
class Cleaned:
    """Validated assignment values, ready to build or apply."""
    values: dict = field(default_factory=dict)
    skills: dict[int, int] = field(default_factory=dict)


def max_payable_cents(pricing: Pricing, rate_cents: int, hourly_rate_cents: int | None,
                      max_hours: float | None, fixed_hours: float | None) -> int:
    """The most the firm can owe under the pricing: the assignment's budget.

    Hours count in whole minutes and hourly pay rounds half up to the cent (core/money)."""
    if pricing == Pricing.FIXED:
        return rate_cents
    if pricing == Pricing.HOURLY:
        return hourly_cents(hourly_rate_cents or 0, minutes(max_hours))
    extra = max(0, minutes(max_hours) - minutes(fixed_hours))
    return rate_cents + hourly_cents(hourly_rate_cents or 0, extra)


def clean(user: User, data: dict, *, dated: bool = True) -> Cleaned:
    """Validate everything (geocoding included) without writing an assignment.

    `dated=False` (templates): no date is asked for; the times are still checked,
    on a day a week ahead, and no starts_at/ends_at are returned.
    """
    firm_id = _firm_user(user)
    errors: dict[str, str] = {}

    def take(fn, *args):
        try:
            return fn(*args)
        except ValidationFailed as exc:
            errors.update(exc.fields or {"form": exc.message})
            return None

    out: dict[str, Any] = {}
    title = (data.get("title") or "").strip()
    if not title:
        errors["title"] = "Give the assignment a title."
    elif len(title) > 160:
        errors["title"] = f"Keep the title within 160 characters (it has {len(title):,})."
    out["title"] = title
    out["description"] = (data.get("description") or "").strip()
    skills = {}
    for sid, level in (data.get("skills") or {}).items():
        skills[int(sid)] = int(level)
    if skills:
        known = set(db.session.scalars(select(Skill.id).where(Skill.id.in_(list(skills)))))
        if set(skills) - known:
            errors["skills"] = "Some of those skills do not exist."
        if any(not 1 <= lvl <= 4 for lvl in skills.values()):
            errors["skills"] = "Skill levels run from 1 to 4."
    rs_id = data.get("requirement_set_id") or None
    if rs_id is not None:
        rs = db.session.get(RequirementSet, int(rs_id))
        if rs is None or rs.firm_id not in (None, firm_id):
            errors["requirement_set_id"] = "Choose one of your requirement sets."
        rs_id = int(rs_id)
    out["requirement_set_id"] = rs_id
    address = (data.get("address") or "").strip()
    loc = None
    if len(address) > 300:
        errors["address"] = f"Keep the address within 300 characters (it has {len(address):,})."
    else:
        loc = take(lambda: geocoding.geocode(address, field="address"))
    out["address"] = address
    if loc:
        out.update(lat=loc.lat, lon=loc.lon, timezone=loc.timezone)
    out["radius_km"] = take(_int, data.get("radius_km"), "radius_km", 1, 500, 50)
    try:
        kind = ScheduleKind(data.get("schedule_kind") or "window")
    except ValueError:
        errors["schedule_kind"] = "Choose a time window or a flexible range."
        kind = ScheduleKind.WINDOW
    out["schedule_kind"] = kind
    start_date = take(_parse_date, data.get("start_date"), "start_date")
    end_date = take(_parse_date, data.get("end_date"), "end_date")
    start_time = take(parse_time, data.get("start_time"), "start_time")
    end_time = take(parse_time, data.get("end_time"), "end_time")
    if not dated:
        start_date, end_date = clock.today() + timedelta(days=7), None
    if start_date is None and "start_date" not in errors:
        errors["start_date"] = "Choose the date."
    if loc and start_date:
        tz = ZoneInfo(loc.timezone)
        if kind == ScheduleKind.WINDOW:
            if start_time is None or end_time is None:
                errors.setdefault("start_time", "Enter the arrival window, e.g. 09:00–11:00.")
            else:
                starts = datetime.combine(start_date, start_time, tz)
                ends = datetime.combine(start_date, end_time, tz)
                if ends <= starts:
                    errors["end_time"] = "The window must end after it starts."
                elif not (timedelta(hours=WINDOW_HOURS[0]) <= ends - starts
                          <= timedelta(hours=WINDOW_HOURS[1])):
                    errors["end_time"] = WINDOW_RULE
                out.update(starts_at=clock.as_utc(starts), ends_at=clock.as_utc(ends))
        else:
            last = end_date or start_date
            if last < start_date:
                errors["end_date"] = "The range must end on or after its first day."
            starts = datetime.combine(start_date, start_time or time(8), tz)
            ends = datetime.combine(last, end_time or time(17), tz)
            out.update(starts_at=clock.as_utc(starts), ends_at=clock.as_utc(ends))
        if "starts_at" in out and out["starts_at"] <= clock.now():
            errors.setdefault("start_date", "Choose a time in the future.")
    try:
        pricing = Pricing(data.get("pricing") or "fixed")
    except ValueError:
        errors["pricing"] = "Choose fixed, hourly or blended pricing."
        pricing = Pricing.FIXED
    out["pricing"] = pricing
    rate_key, hourly_key = _amount_key(data, "rate"), _amount_key(data, "hourly_rate")
    rate = take(_amount, data, "rate")
    hourly = take(_amount, data, "hourly_rate")
    max_hours = take(_hours, data.get("max_hours"), "max_hours")
    fixed_hours = take(_hours, data.get("fixed_hours"), "fixed_hours")
    if pricing in (Pricing.FIXED, Pricing.BLENDED) and not rate and rate_key not in errors:
        errors[rate_key] = "Enter the fixed price."
    if pricing in (Pricing.HOURLY, Pricing.BLENDED):
        if not hourly and hourly_key not in errors:
            errors[hourly_key] = "Enter the hourly rate."
        if not max_hours and "max_hours" not in errors:
            errors["max_hours"] = "Enter the most hours you will pay for."
    if pricing == Pricing.BLENDED and max_hours and fixed_hours and fixed_hours > max_hours:
        errors["fixed_hours"] = "The fixed part cannot cover more than the maximum hours."
    out.update(rate_cents=rate or 0, hourly_rate_cents=hourly, max_hours=max_hours,
               fixed_hours=fixed_hours if pricing == Pricing.BLENDED else None)
    budget = max_payable_cents(pricing, rate or 0, hourly, max_hours, fixed_hours)
    out["budget_cents"] = budget
    amounts_ok = not ({rate_key, hourly_key} & set(errors))
    if amounts_ok and budget > MAX_CENTS:
        errors[hourly_key] = (f"That makes a budget of {format_money(budget)}; one assignment "
                              f"pays at most {format_money(MAX_CENTS)}.")
        amounts_ok = False
    member = user.membership
    if amounts_ok and exceeds_budget_limit(user, firm_id, budget):
        errors[rate_key] = ("This budget is above your limit of "
                            f"{format_money(member.budget_limit_cents)}; ask a manager.")
    out["currency"] = take(currency_code, data.get("currency"))
    out["checklist"] = take(checklist.normalise, data.get("checklist"))
    out["geofence_m"] = take(_int, data.get("geofence_m"), "geofence_m", 25, 5000, 0) or None
    for name, (low, high) in SLA_BOUNDS.items():
        raw = data.get(name)
        out[name] = None if raw in (None, "") else take(_int, raw, name, low, high)
    if errors:
        raise ValidationFailed("Some of the assignment details need attention.", fields=errors)
    if not dated:
        out.pop("starts_at", None)
        out.pop("ends_at", None)
    return Cleaned(out, skills)


def _apply(assignment: Assignment, cleaned: Cleaned) -> None:
    for key, value in cleaned.values.items():
        setattr(assignment, key, value)
    _apply_skills(assignment, cleaned.skills)


def _apply_skills(assignment: Assignment, skills: dict[int, int]) -> None:
    current = {s.skill_id: s for s in assignment.skills}
    for sid, row in current.items():
        if sid not in skills:
            assignment.skills.remove(row)
    for sid, level in skills.items():
        if sid in current:
            current[sid].min_level = level
        else:
            assignment.skills.append(AssignmentSkill(skill_id=sid, min_level=level))


def create_assignment(user: User, data: dict, *, publish: bool = False,
                      files_from: Assignment | AssignmentTemplate | None = None) -> Assignment:
    """A new assignment; `files_from` (a template or the duplicated one) lends its files."""
    cleaned = clean(user, data)
    assignment = Assignment(firm_id=user.membership.firm_id, created_by_id=user.id,
                            status=AssignmentStatus.DRAFT, version=1)
    _apply(assignment, cleaned)
    db.session.add(assignment)
    db.session.flush()
    audit.record(Action.ASSIGNMENT_CREATED, assignment, actor=user, firm_id=assignment.firm_id)
    if files_from is not None:
        copy_attachments(user, files_from, assignment)
    if publish:
        publish_assignment(user, assignment)
    return assignment


def update_assignment(user: User, assignment: Assignment, data: dict,
                      expected_version: int | None = None) -> Assignment:
    """Edit work nobody holds yet, from the version the editor saw (`expected_version`,
    else the one loaded): one UPDATE conditional on that version and an editable state,
    so it can neither overwrite another edit nor move a window under an acceptance that
    checked the old one (which moves the version too)."""
    version = assignment.version if expected_version is None else \
        _int(expected_version, "version", 1, 2**31 - 1)
    if assignment.status not in EDITABLE:
        raise InvalidState("Only draft or published assignments can be edited.")
    if version != assignment.version:
        raise InvalidState(STALE_EDIT, code="stale_version")
    cleaned = clean(user, data)
    changed = db.session.execute(
        update(Assignment)
        .where(Assignment.id == assignment.id, Assignment.status.in_(EDITABLE),
               Assignment.version == version)
        .values(**cleaned.values, version=version + 1, updated_at=clock.now())
        .execution_options(synchronize_session=False)).rowcount
    db.session.refresh(assignment)
    if changed != 1:
        if assignment.status not in EDITABLE:
            raise InvalidState(f"This assignment is {assignment.status.label.lower()} now; "
                               "only draft or published assignments can be edited.")
        raise InvalidState(STALE_EDIT, code="stale_version")
    _apply_skills(assignment, cleaned.skills)
    db.session.flush()
    audit.record(Action.ASSIGNMENT_UPDATED, assignment, actor=user, firm_id=assignment.firm_id)
    return assignment


def publish_assignment(user: User, assignment: Assignment) -> Assignment:
    if assignment.status != AssignmentStatus.DRAFT:
        raise InvalidState("Only a draft can be published.")
    if assignment.starts_at <= clock.now():
        raise InvalidState("The assignment's date has passed; change it first.")
    check_budget_limit(user, assignment.firm_id, assignment.budget_cents,
                       message="This budget is above your limit; ask a manager to publish.")
    transition(assignment, AssignmentStatus.PUBLISHED, actor=user, action=Action.ASSIGNMENT_PUBLISHED,
               published_at=clock.now())
    return assignment


def cancel_draft(user: User, assignment: Assignment) -> Assignment:
    """Withdraw a draft or unrouted published assignment (engage cancels routed work, with fees)."""
    if assignment.status not in EDITABLE:
        raise InvalidState("Only a draft or unassigned assignment can be cancelled here.")
    transition(assignment, AssignmentStatus.CANCELLED, actor=user, action=Action.ASSIGNMENT_CANCELLED)
    return assignment


def list_assignments(user: User, *, status: str | None = None, q: str | None = None,
                     skill_id: int | None = None):
    """A select of the firm's assignments, newest date first, filtered."""
    stmt = select(Assignment).where(Assignment.firm_id == _firm_user(user))
    if status:
        try:
            stmt = stmt.where(Assignment.status == AssignmentStatus(status))
        except ValueError:
            raise ValidationFailed.field("status", "Unknown state.") from None
    if q:
        like = f"%{q.strip().lower()}%"
        stmt = stmt.where(or_(func.lower(Assignment.title).like(like),
                              func.lower(Assignment.address).like(like)))
    if skill_id:
        stmt = stmt.where(Assignment.skills.any(AssignmentSkill.skill_id == skill_id))
    return stmt.order_by(Assignment.starts_at.desc(), Assignment.id.desc())


# --- as form input (edit, templates, duplicates) -------------------------------------

def form_data(assignment: Assignment) -> dict:
    """The assignment as input values (site-local times), for pre-filling a form."""
    tz = ZoneInfo(assignment.timezone)
    starts, ends = assignment.starts_at.astimezone(tz), assignment.ends_at.astimezone(tz)
    return {
        "title": assignment.title, "description": assignment.description,
        "skills": {str(s.skill_id): s.min_level for s in assignment.skills},
        "requirement_set_id": assignment.requirement_set_id, "address": assignment.address,
        "radius_km": assignment.radius_km, "schedule_kind": assignment.schedule_kind.value,
        "start_date": starts.date().isoformat(), "end_date": ends.date().isoformat(),
        "start_time": starts.strftime("%H:%M"), "end_time": ends.strftime("%H:%M"),
        "pricing": assignment.pricing.value, "rate_cents": assignment.rate_cents,
        "hourly_rate_cents": assignment.hourly_rate_cents, "max_hours": assignment.max_hours,
        "fixed_hours": assignment.fixed_hours, "currency": assignment.currency,
        "checklist": list(assignment.checklist or []), "geofence_m": assignment.geofence_m,
        **{name: getattr(assignment, name) for name in SLA_BOUNDS},
    }
