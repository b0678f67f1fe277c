"""Task answers and proof of work: values checked by the task's kind, files re-encoded.

Photos and signatures go through the one upload check, which decodes and
re-encodes images (dropping EXIF, the phone's GPS included, and anything
appended); the capture time and position the app recorded are kept as data
on the row instead. Lists show a small thumbnail.
"""
from __future__ import annotations

import io
import math
from datetime import datetime
from typing import NamedTuple

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from ..accounts.models import User
from ..core import audit, clock
from ..core.actions import Action
from ..core.statements import built_once
from ..core.uploads import Upload, check_upload, clean_filename, store
from ..errors import InvalidState, ValidationFailed
from ..extensions import db
from ..find.lifecycle import AssignmentStatus as S
from ..find.models import Assignment
from .access import assignee_of, lock_assignment
from .models import ProofFile, TaskAnswer
from .visits import check_recorded_time

THUMB_PX = 320
MAX_TEXT = 5000


def tasks_of(assignment: Assignment) -> list[dict]:
    """The typed tasks (a plain string in an old checklist is a required confirmation)."""
    out = []
    for index, item in enumerate(assignment.checklist or []):
        if isinstance(item, str):
            out.append({"key": f"t{index + 1}", "kind": "confirm", "label": item,
                        "required": True})
        else:
            out.append(item)
    return out


def task(assignment: Assignment, key: str) -> dict:
    for item in tasks_of(assignment):
        if item["key"] == key:
            return item
    raise ValidationFailed.field("task", "There is no such task on this assignment.")


def _require_working(assignment: Assignment) -> None:
    if assignment.status != S.IN_PROGRESS:
        raise InvalidState("Check in first: tasks are answered on site, while the work is "
                           "in progress.", code="not_in_progress")


def clean_value(spec: dict, value) -> dict:
    """The answer's value for the task's kind, or a field error."""
    kind = spec["kind"]
    if not isinstance(value, dict):
        raise ValidationFailed.field("value", "Send the answer as an object.")
    if kind == "confirm":
        if value.get("done") is not True:
            raise ValidationFailed.field("value", "Tick it to confirm.")
        return {"done": True}
    if kind == "text":
        text = value.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ValidationFailed.field("value", "Write something.")
        if len(text) > MAX_TEXT or "\x00" in text:
            raise ValidationFailed.field("value", f"At most {MAX_TEXT} characters.")
        return {"text": text.strip()}
    if kind == "number":
        number = value.get("number")
        if isinstance(number, str):
            try:
                number = float(number.replace(",", ""))
            except ValueError:
                number = None
        if isinstance(number, bool) or not isinstance(number, (int, float)) \
                or not math.isfinite(number) or abs(number) > 1e12:
            raise ValidationFailed.field("value", "Enter a number.")
        low, high = spec.get("min"), spec.get("max")
        unit = f" {spec['unit']}" if spec.get("unit") else ""
        if (low is not None and number < low) or (high is not None and number > high):
            raise ValidationFailed.field(
                "value", f"Enter a value from {_fmt(low)} to {_fmt(high)}{unit}.")
        return {"number": number}
    if kind == "choice":
        choice = value.get("choice")
        if choice not in spec.get("choices", []):
            raise ValidationFailed.field("value", "Pick one of the options.")
        return {"choice": choice}
    raise ValidationFailed.field("value", "This task is answered with a file.")


def _fmt(value) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)


def answer_task(user: User, assignment: Assignment, key: str, value, *,
                at: datetime) -> TaskAnswer:
    result = answer_tasks(user, assignment, [(key, value, at)])[0]
    if isinstance(result, ValidationFailed):
        raise result
    return db.session.get(TaskAnswer, result.answer_id, populate_existing=True)


class Held(NamedTuple):
    """An answer as it was held right after it was written (a later one may replace it)."""
    task_key: str
    value: dict
    answered_at: datetime
    answer_id: int


def answer_tasks(user: User, assignment: Assignment,
                 answers: list[tuple[str, object, datetime]]) -> list:
    """Answers (task key, value, recorded time) in the order given: for each, the answer
    held right after it (`Held`), or the ValidationFailed that refused it. The work is
    locked once; the answers are written by one statement per run of distinct tasks and
    audited by one."""
    assignee_of(user, assignment)
    lock_assignment(assignment)
    tech = assignee_of(user, assignment)
    _require_working(assignment)
    out: list = []
    run: dict[str, tuple[int, dict, datetime]] = {}
    for key, value, at in answers:
        try:
            check_recorded_time(assignment, at)
            cleaned = clean_value(task(assignment, key), value)
        except ValidationFailed as exc:
            out.append(exc)
            continue
        if key in run:      # the same task again: the run so far is written first
            _write_answers(user, assignment, tech.id, run, out)
            run = {}
        run[key] = (len(out), cleaned, at)
        out.append(None)
    _write_answers(user, assignment, tech.id, run, out)
    return out


def _write_answers(user: User, assignment: Assignment, tech_id: int,
                   run: dict[str, tuple[int, dict, datetime]], out: list) -> None:
    if not run:
        return
    now = clock.now()
    # The rows sent together to one statement, compiled once whatever their number.
    held = {row.task_key: row for row in db.session.execute(_upsert(), [
        {"assignment_id": assignment.id, "task_key": key, "technician_id": tech_id,
         "value": cleaned, "answered_at": at, "received_at": now}
        for key, (_, cleaned, at) in run.items()])}
    missing = [key for key in run if key not in held]
    if missing:  # an earlier answer than the one held: that one stands
        t = TaskAnswer.__table__
        held.update((row.task_key, row) for row in db.session.execute(
            select(t.c.task_key, t.c.value, t.c.answered_at, t.c.id).where(
                t.c.assignment_id == assignment.id, t.c.task_key.in_(missing))))
    audit.record_many(Action.TASK_ANSWERED, TaskAnswer.__tablename__, [
        {"subject_id": held[key].id,
         "after": {"assignment_id": assignment.id, "task": key, "value": cleaned}}
        for key, (_, cleaned, _) in run.items()], actor=user, firm_id=assignment.firm_id)
    for key, (position, _, _) in run.items():
        row = held[key]
        out[position] = Held(row.task_key, row.value, row.answered_at, row.id)


def _upsert():
    """Built once per dialect: a queue's answers build no statement of their own."""
    name = db.engine.dialect.name
    return built_once(("proof.answers", name), lambda: _build_upsert(
        postgresql if name == "postgresql" else sqlite))


def _build_upsert(dialect):
    """On the table, returning the columns the sync answers with (no objects to keep)."""
    t = TaskAnswer.__table__
    upsert = dialect.insert(t)
    return upsert.on_conflict_do_update(
        index_elements=["assignment_id", "task_key"],
        set_={"value": upsert.excluded.value, "answered_at": upsert.excluded.answered_at,
              "received_at": upsert.excluded.received_at},
        # A later answer wins, whatever order they arrive in.
        where=t.c.answered_at <= upsert.excluded.answered_at).returning(
            t.c.task_key, t.c.value, t.c.answered_at, t.c.id)


def _thumbnail(data: bytes) -> bytes:
    """A small JPEG for lists (the full image was already re-encoded by the upload check)."""
    with Image.open(io.BytesIO(data)) as image:
        thumb = image.convert("RGB")
        thumb.thumbnail((THUMB_PX, THUMB_PX))
        out = io.BytesIO()
        thumb.save(out, "JPEG", quality=75)
        return out.getvalue()


def add_proof(user: User, assignment: Assignment, key: str, upload: Upload, *, at: datetime,
              lat: float | None = None, lon: float | None = None,
              signer_name: str | None = None) -> ProofFile:
    assignee_of(user, assignment)
    lock_assignment(assignment)
    tech = assignee_of(user, assignment)
    _require_working(assignment)
    check_recorded_time(assignment, at)
    spec = task(assignment, key)
    if spec["kind"] not in ("photo", "signature", "file"):
        raise ValidationFailed.field("file", "This task is not answered with a file.")
    checked = check_upload(upload, field="file")  # images come back decoded and re-encoded
    mime, data = checked.mime, checked.data
    thumb_key = None
    if spec["kind"] in ("photo", "signature"):
        if not mime.startswith("image/"):
            raise ValidationFailed.field("file", "Take a photo (JPEG or PNG).")
        if spec["kind"] == "signature":
            if mime != "image/png":
                raise ValidationFailed.field("file", "A signature is a PNG drawing.")
            signer_name = (signer_name or "").strip()
            if not signer_name:
                raise ValidationFailed.field("signer_name", "Print the signer's name.")
        thumb_key = store(_thumbnail(data))
    if lat is not None and not (-90 <= lat <= 90 and lon is not None and -180 <= lon <= 180):
        raise ValidationFailed.field("position", "That position is not on Earth.")
    extension = {"image/jpeg": ".jpg", "image/png": ".png", "application/pdf": ".pdf"}[mime]
    name = clean_filename(upload.filename, default=f"{spec['kind']}")
    name = name.rsplit(".", 1)[0] + extension
    proof = ProofFile(assignment_id=assignment.id, task_key=key, technician_id=tech.id,
                      storage_key=store(data), thumb_key=thumb_key, mime=mime, filename=name,
                      size=len(data), captured_at=at, lat=lat, lon=lon,
                      signer_name=(signer_name or None) if spec["kind"] == "signature" else None)
    db.session.add(proof)
    db.session.flush()
    audit.record(Action.PROOF_ADDED, proof, actor=user, firm_id=assignment.firm_id,
                 after={"assignment_id": assignment.id, "task": key, "mime": mime})
    return proof


def progress(assignment: Assignment) -> list[dict]:
    """Each task with its answer, its files and whether it is complete."""
    answers = {a.task_key: a for a in db.session.scalars(
        select(TaskAnswer).where(TaskAnswer.assignment_id == assignment.id))}
    files: dict[str, list[ProofFile]] = {}
    for proof in db.session.scalars(select(ProofFile).where(
            ProofFile.assignment_id == assignment.id).order_by(ProofFile.id)):
        files.setdefault(proof.task_key, []).append(proof)
    out = []
    for spec in tasks_of(assignment):
        key, kind = spec["key"], spec["kind"]
        got = files.get(key, [])
        if kind == "photo":
            done = len(got) >= spec.get("min_count", 1)
        elif kind in ("signature", "file"):
            done = bool(got)
        else:
            done = key in answers
        out.append({"task": spec, "answer": answers.get(key), "files": got, "done": done})
    return out


def missing(assignment: Assignment) -> list[str]:
    """Labels of the required tasks not yet complete."""
    return [item["task"]["label"] for item in progress(assignment)
            if item["task"].get("required", True) and not item["done"]]


def count_files(assignment_id: int) -> int:
    return db.session.scalar(select(func.count()).select_from(ProofFile).where(
        ProofFile.assignment_id == assignment_id)) or 0
