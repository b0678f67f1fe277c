"""Bulk creation from CSV: many sites at once, with a per-row report.

Each row is checked first (the cells, then `clean`, the same validation as the
form and the API) and, if good, created by `create_assignment`, the one way an
assignment is made: a bad row creates nothing and is reported by the file line
its record starts on; good rows are created. A row with the same title, address
and time as an earlier row or one of the firm's assignments is skipped with a
warning, unless duplicates are allowed. Bytes (an uploaded file) are read as
UTF-8 (with or without a byte-order mark), else as Windows-1252 or Latin-1,
which the report says. The file, its rows and its cells are bounded.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..accounts.models import Skill, User
from ..core.progress import Progress
from ..core.progress import report as report_progress
from ..errors import ValidationFailed
from ..extensions import db
from .assignments import _firm_user, clean, create_assignment
from .models import Assignment, AssignmentStatus

CSV_COLUMNS = ("title", "address", "date", "start", "end", "skills", "pricing", "rate",
               "hourly_rate", "max_hours", "radius_km", "description")
MAX_CSV_ROWS = 1000
MAX_CSV_BYTES = 1_000_000
MAX_CELL_CHARS = 10_000
# C0 and C1 control characters but tab, line feed and carriage return.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass
class CsvReport:
    created: list[Assignment] = field(default_factory=list)
    errors: list[tuple[int, dict[str, str]]] = field(default_factory=list)  # (line, fields)
    warnings: list[tuple[int, str]] = field(default_factory=list)           # (line, message)
    notes: list[str] = field(default_factory=list)                          # about the file
    rows: int = 0                                                           # records read

    @property
    def ok(self) -> bool:
        return not self.errors


def decode(data: bytes, field: str = "file") -> tuple[str, str | None]:
    """The text of an uploaded file, and a note when it was not UTF-8."""
    if len(data) > MAX_CSV_BYTES:
        raise ValidationFailed.field(field, _too_big())
    for bom, codec in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                       (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(codec), None
            except UnicodeDecodeError:
                raise ValidationFailed.field(
                    field, f"The file says it is {codec.upper()} but is not; save it "
                    "again as CSV UTF-8.") from None
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError:
        pass
    try:
        text, name = data.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        text, name = data.decode("latin-1"), "Latin-1 (ISO-8859-1)"
    return text, (f"The file is not UTF-8; it was read as {name}. Check accented letters "
                  "in what was created, and save as \"CSV UTF-8\" next time.")


def _too_big() -> str:
    return f"Upload at most {MAX_CSV_BYTES // 1_000_000} MB at once; split the file."


def _records(text: str, field: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and (file line the record starts on, cells) of every non-blank record."""
    reader = csv.reader(io.StringIO(text, newline=""))
    records: list[tuple[int, list[str]]] = []
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            if "field larger than field limit" in str(exc):
                raise ValidationFailed.field(field, f"Line {start}: a cell is longer than "
                                             f"{MAX_CELL_CHARS:,} characters.") from None
            raise ValidationFailed.field(field, f"Line {start} is not valid CSV ({exc}).") \
                from None
        line, start = start, reader.line_num + 1
        if any(cell.strip() for cell in row):
            records.append((line, row))
    if not records:
        return [], []
    (_, header), rows = records[0], records[1:]
    if len(rows) > MAX_CSV_ROWS:
        raise ValidationFailed.field(field, f"Upload at most {MAX_CSV_ROWS:,} rows at once; "
                                     f"this file has {len(rows):,}.")
    return [h.strip().lower() for h in header], rows


def _cell_problems(headers: list[str], cells: list[str]) -> dict[str, str]:
    problems: dict[str, str] = {}
    for i, value in enumerate(cells):
        name = headers[i] if i < len(headers) and headers[i] else f"column {i + 1}"
        if len(value) > MAX_CELL_CHARS:
            problems[name] = (f"Keep this cell within {MAX_CELL_CHARS:,} characters "
                              f"(it has {len(value):,}).")
        elif (bad := _CONTROL.search(value)) is not None:
            problems[name] = (f"Remove the control character (code {ord(bad.group()):#04x}) "
                              "from this cell.")
    return problems


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


def _same_job(values: dict) -> tuple:
    """What makes two assignments the same job: title, address and time."""
    return (" ".join(values["title"].casefold().split()),
            " ".join(values["address"].casefold().split()),
            values.get("starts_at"), values.get("ends_at"))


def _existing(firm_id: int, values: dict) -> Assignment | None:
    return db.session.scalars(select(Assignment).where(
        Assignment.firm_id == firm_id, Assignment.status != AssignmentStatus.CANCELLED,
        func.lower(Assignment.title) == values["title"].lower(),
        func.lower(Assignment.address) == values["address"].lower(),
        Assignment.starts_at == values.get("starts_at"),
        Assignment.ends_at == values.get("ends_at")).limit(1)).first()


def import_csv(user: User, source: str | bytes, *, publish: bool = False,
               allow_duplicates: bool = False, field: str = "file",
               progress: Progress | None = None) -> CsvReport:
    """Create one assignment per good row; bad rows create nothing and are reported by line.

    `source` is an uploaded file's bytes or text; problems with the file as a whole
    are errors on `field`. `progress` hears of each row done (core/progress.py)."""
    _firm_user(user)
    report = CsvReport()
    if isinstance(source, bytes):
        text, note = decode(source, field)
        if note:
            report.notes.append(note)
    else:
        if len(source) > MAX_CSV_BYTES:
            raise ValidationFailed.field(field, _too_big())
        text = source
    headers, records = _records(text.lstrip("\ufeff"), field)
    missing = {"title", "address", "date"} - set(headers)
    if missing:
        raise ValidationFailed.field(field, "The CSV needs the columns: "
                                     + ", ".join(sorted(missing)) + ".")
    skills_by_slug = {slug: sid for sid, slug in db.session.execute(select(Skill.id, Skill.slug))}
    firm_id = user.membership.firm_id
    seen: dict[tuple, int] = {}
    report.rows = len(records)
    for done, (line, cells) in enumerate(records):
        report_progress(progress, done, len(records), "rows")
        row = {h: v.strip() for h, v in zip(headers, cells) if h}
        data, problems = _row_data(row, skills_by_slug)
        try:
            values = clean(user, data).values
        except ValidationFailed as exc:
            problems.update(exc.fields or {"row": exc.message})
        problems.update(_cell_problems(headers, cells))
        if problems:
            report.errors.append((line, problems))
            continue
        key = _same_job(values)
        if not allow_duplicates:
            twin = f"line {seen[key]}" if key in seen else None
            if twin is None and (existing := _existing(firm_id, values)) is not None:
                twin = f"assignment #{existing.id}"
            if twin is not None:
                report.warnings.append(
                    (line, f"The same title, address and time as {twin}: skipped."))
                continue
        seen.setdefault(key, line)
        report.created.append(create_assignment(user, data, publish=publish))
    report_progress(progress, len(records), len(records), "rows")
    return report
