"""Bulk creation from CSV: many sites at once, with a per-row error report.

Bad rows are reported by line and create nothing; good rows go through the
same `create_assignment` as the form and the API.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select

from ..accounts.models import Skill, User
from ..core import audit
from ..core.actions import Action
from ..errors import ValidationFailed
from ..extensions import db
from .assignments import Cleaned, _apply, _firm_user, clean, publish_assignment
from .models import Assignment, AssignmentStatus

CSV_COLUMNS = ("title", "address", "date", "start", "end", "skills", "pricing", "rate",
               "hourly_rate", "max_hours", "radius_km", "description")
MAX_CSV_ROWS = 1000


@dataclass
class CsvReport:
    created: list[Assignment] = field(default_factory=list)
    errors: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (line, fields)

    @property
    def ok(self) -> bool:
        return not self.errors


def _row_data(row: dict, skills_by_slug: dict[str, int]) -> tuple[dict, dict[str, str]]:
    problems: dict[str, str] = {}
    skills: dict[int, int] = {}
    for part in (row.get("skills") or "").replace(",", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        slug, _, level = part.partition(":")
        sid = skills_by_slug.get(slug.strip().lower())
        if sid is None:
            problems["skills"] = f"Unknown skill \"{slug.strip()}\"."
            continue
        try:
            skills[sid] = int(level or 2)
        except ValueError:
            problems["skills"] = f"Level for {slug.strip()} must be 1-4."
    data = {"title": row.get("title"), "address": row.get("address"),
            "start_date": row.get("date"), "start_time": row.get("start"),
            "end_time": row.get("end"), "skills": skills,
            "pricing": (row.get("pricing") or "fixed").strip().lower(),
            "rate": row.get("rate"), "hourly_rate": row.get("hourly_rate"),
            "max_hours": row.get("max_hours"), "radius_km": row.get("radius_km"),
            "description": row.get("description")}
    return data, problems


def import_csv(user: User, text: str, *, publish: bool = False) -> CsvReport:
    """Create one assignment per good row; bad rows create nothing and are reported by line."""
    _firm_user(user)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = {"title", "address", "date"} - set(headers)
    if missing:
        raise ValidationFailed.field("file", "The CSV needs the columns: "
                                     + ", ".join(sorted(missing)) + ".")
    reader.fieldnames = headers
    skills_by_slug = {slug: sid for sid, slug in db.session.execute(select(Skill.id, Skill.slug))}
    report = CsvReport()
    good: list[tuple[int, Cleaned]] = []
    for number, row in enumerate(reader, start=2):
        if number - 1 > MAX_CSV_ROWS:
            raise ValidationFailed.field("file", f"Upload at most {MAX_CSV_ROWS} rows at once.")
        row = {k: (v or "").strip() for k, v in row.items() if k}
        data, problems = _row_data(row, skills_by_slug)
        try:
            cleaned = clean(user, data)
        except ValidationFailed as exc:
            problems.update(exc.fields or {"row": exc.message})
        if problems:
            report.errors.append((number, problems))
        else:
            good.append((number, cleaned))
    for _, cleaned in good:
        a = Assignment(firm_id=user.membership.firm_id, created_by_id=user.id,
                       status=AssignmentStatus.DRAFT, version=1)
        _apply(a, cleaned)
        db.session.add(a)
        db.session.flush()
        audit.record(Action.ASSIGNMENT_CREATED, a, actor=user, firm_id=a.firm_id,
                     after={"source": "csv"})
        if publish:
            publish_assignment(user, a)
        report.created.append(a)
    return report
