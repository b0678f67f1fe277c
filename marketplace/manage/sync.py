"""Actions a phone queued (offline or not), applied exactly once each.

Every action carries a client-made idempotency key, the time it happened on
the device and, for check-in/out, the position then. The first delivery applies
the action and stores its key with its result; any later delivery (a retry, the
same queue sent twice, even at once) gets that first result back. A technician's
syncs are serialised by a lock on the technician (PostgreSQL: a transaction-scoped
advisory lock; SQLite: the database's write lock), taken before their keys are read (by a queue once, by an action sent on its own too): a delivery reads which
keys were stored before, applies the others and stores them, all under that lock,
so two deliveries of one queue cannot interleave; the unique key on (technician,
key) stands behind it (a plain INSERT: a key stored meanwhile would fail the whole
transaction, never apply an action twice). A queue is applied set-based: the work it
names locked and read by one SELECT, with the keys seen before (and its work record,
open visit, the firm's rules and webhook endpoints and the acceptance, so no action
locks or reads them again), each run of answers to one job written and audited by
one statement each, its keys and results stored at its end by one INSERT;
check-in, check-out and proof go through their services one by one, in the
queue's order. A refused action (a time in the
future, work no longer open) is refused once and for all: its error is the stored
result. Check-in and check-out refuse before they write; proof, which stores files
first, runs in a savepoint.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import (JSON, Integer, bindparam, cast, func, literal, select, type_coerce,
                        update)
from sqlalchemy.orm import attributes, load_only

from ..accounts.models import TechnicianProfile, User
from ..core import clock
from ..core.statements import built_once
from ..core.times import parse_instant
from ..core.uploads import Upload
from ..errors import DomainError, NotFound, ValidationFailed
from ..extensions import db
from . import proof, visits
from ..find.models import Assignment
from ..notifications import webhooks
from .access import access_work_as_technician, hold
from .geofence import Fix, note_settings
from .models import AppliedAction, ManageSettings, Visit, WorkRecord

ACTIONS = ("check_in", "check_out", "answer", "proof")
_KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_BATCH = 200


@dataclass
class Outcome:
    key: str
    status: int
    result: dict
    duplicate: bool = False

    def as_dict(self) -> dict:
        return {"key": self.key, "status": self.status, "result": self.result,
                "duplicate": self.duplicate}


@dataclass
class _Batch:
    """What one queue's replay keeps until its end: its keys and their results, to store
    in one statement, and the work it loaded (the session forgets objects nothing
    refers to)."""
    tech_id: int
    results: dict[str, dict] = field(default_factory=dict)
    held: dict[int, object] = field(default_factory=dict)

    def done(self, key: str, action: str, assignment_id: int, status: int,
             result: dict) -> None:
        self.results[key] = {"technician_id": self.tech_id, "key": key, "action": action,
                             "assignment_id": assignment_id, "status": status,
                             "result": result}


# The class of PostgreSQL's advisory locks that serialise one technician's syncs (the
# second key is their user id).
SYNC_LOCKS = 0x53594E43


def _lock_statement(dialect: str):
    if dialect == "postgresql":
        # An advisory lock, taken as the technician's row is read: unlike a row lock it
        # neither marks the row nor holds up an edit of the technician's profile while a
        # sync runs. Only the ids are read; the rest is loaded if asked for.
        owner = cast(bindparam("owner"), Integer)
        return (select(TechnicianProfile, func.pg_advisory_xact_lock(
                    literal(SYNC_LOCKS, Integer), owner))
                .where(TechnicianProfile.user_id == owner)
                .options(load_only(TechnicianProfile.id, TechnicianProfile.user_id))
                .execution_options(populate_existing=True))
    # SQLite: a write takes the database's write lock at once (a read first would have to
    # upgrade it later and could fail); it leaves the row, `updated_at` included, as it was.
    return (update(TechnicianProfile).where(TechnicianProfile.user_id == bindparam("owner"))
            .values(id=TechnicianProfile.id, updated_at=TechnicianProfile.updated_at)
            .returning(TechnicianProfile)
            .execution_options(synchronize_session=False, populate_existing=True))


def lock_own_profile(user: User) -> TechnicianProfile:
    """Lock the technician's syncs (and read their profile, in the same statement): a
    technician's syncs are applied one at a time."""
    dialect = db.engine.dialect.name
    stmt = built_once(("sync.lock", dialect), lambda: _lock_statement(dialect))
    tech = db.session.scalar(stmt, {"owner": user.id})
    if tech is None:
        raise NotFound()
    if "technician" not in attributes.instance_state(user).dict:
        attributes.set_committed_value(user, "technician", tech)
    return tech


def _stored_with_work(dialect: str):
    """The keys among `keys` stored before, as one JSON array of [key, action, assignment,
    status, result] (a column of the work's rows: the keys are read by the same
    statement)."""
    key, action, assignment_id, status, result = _stored_columns()
    if dialect == "postgresql":
        rows = func.json_agg(func.json_build_array(key, action, assignment_id, status, result))
    else:
        rows = func.json_group_array(func.json_array(key, action, assignment_id, status,
                                                     func.json(result)))
    return type_coerce(_stored_query(rows).scalar_subquery(), JSON)


def _stored_columns():
    table = AppliedAction.__table__
    return table.c.key, table.c.action, table.c.assignment_id, table.c.status, table.c.result


def _stored_query(*columns):
    """`columns` of the technician's (bound as `tech_id`) keys among `keys` stored."""
    table = AppliedAction.__table__
    return select(*columns).where(table.c.technician_id == bindparam("tech_id"),
                                  table.c.key.in_(bindparam("keys", expanding=True)))


def _hold_statement(dialect: str):
    accepted = visits.accepted_query(Assignment.id, Assignment.assignee_id).scalar_subquery()
    open_visit, highest = visits.visits_read_with_work(Assignment)
    return (select(Assignment, WorkRecord, Visit, ManageSettings, accepted, highest,
                   webhooks.any_endpoint(Assignment.firm_id), _stored_with_work(dialect))
            .outerjoin(WorkRecord, WorkRecord.assignment_id == Assignment.id)
            .outerjoin(Visit, open_visit)
            .outerjoin(ManageSettings, ManageSettings.firm_id == Assignment.firm_id)
            .where(Assignment.id.in_(bindparam("ids", expanding=True)),
                   Assignment.assignee_id == bindparam("tech_id"))
            .order_by(Assignment.id).with_for_update(of=Assignment, key_share=True)
            .execution_options(populate_existing=True))


def _hold_work(tech_id: int, assignment_ids, keys, batch: _Batch
               ) -> dict[str, tuple[str, int, int, dict | None]]:
    """Lock and read, in one statement, the work a queue names that the technician
    holds, with its work record, its open visit and highest visit number, its firm's
    rules, whether the firm has webhook endpoints, and when they accepted it: its actions
    neither lock nor read these again. The same statement reads which of the queue's
    keys were stored before (`_stored`'s answer; read on its own when the queue names
    no work the technician holds).
    (Keys, visits and the record's check-in are written only under the technician's
    lock, taken by an earlier statement, so this one sees them as they are; unique
    indexes on the keys, the open visit and the record stand behind that.)"""
    dialect = db.engine.dialect.name
    rows = db.session.execute(
        built_once(("sync.hold", dialect), lambda: _hold_statement(dialect)),
        {"ids": sorted(assignment_ids), "tech_id": tech_id, "keys": sorted(keys)}).all()
    for assignment, record, visit, settings, taken, number, endpoints, _ in rows:
        visits.note_accepted(assignment, taken)
        visits.note_record(assignment, record)
        visits.note_visits(assignment, visit, number)
        note_settings(assignment.firm_id, settings)
        webhooks.note_any_endpoint(assignment.firm_id, endpoints)
        batch.held[assignment.id] = assignment
    hold([a for a, *_ in rows])
    if not rows:
        return _stored(tech_id, keys)
    return {key: (action, assignment_id, status, result)
            for key, action, assignment_id, status, result in rows[0][-1] or ()}


def _stored(tech_id: int, keys) -> dict[str, tuple[str, int, int, dict | None]]:
    """The keys among these stored before (under the technician's lock): key -> (action,
    assignment, status, result). One statement, built once."""
    if not keys:
        return {}
    stmt = built_once(("sync.stored",), lambda: _stored_query(*_stored_columns()))
    return {key: rest for key, *rest in db.session.execute(
        stmt, {"tech_id": tech_id, "keys": sorted(keys)})}


def _perform(user: User, action: str, assignment_id: int, at: datetime, data: dict,
             upload: Upload | None, batch: _Batch) -> tuple[int, dict]:
    assignment = access_work_as_technician(user, assignment_id)
    batch.held[assignment.id] = assignment
    if action in ("check_in", "check_out"):
        fix = Fix.parse(data.get("position"), default_time=at)
        reason = data.get("reason") or ""
        if not isinstance(reason, str):
            raise ValidationFailed.field("reason", "The reason is a text.")
        service = visits.check_in if action == "check_in" else visits.check_out
        visit = service(user, assignment, at=at, fix=fix, reason=reason)
        geofence = visit.checkin_geofence if action == "check_in" else visit.checkout_geofence
        distance = visit.checkin_distance_m if action == "check_in" else visit.checkout_distance_m
        record = visits.record_for(assignment)
        return 201, {"visit_id": visit.id, "number": visit.number, "at": at.isoformat(),
                     "geofence": geofence.value, "distance_m": distance,
                     "arrival": record.arrival.value if record.arrival else None,
                     "status": assignment.status.value}
    task_key = data.get("task")
    if not isinstance(task_key, str):
        raise ValidationFailed.field("task", "Name the task.")
    if action == "answer":
        answer = proof.answer_task(user, assignment, task_key, data.get("value"), at=at)
        return 200, {"task": task_key, "value": answer.value,
                     "answered_at": answer.answered_at.isoformat()}
    if upload is None:
        raise ValidationFailed.field("file", "Attach the file.")
    position = data.get("position") or {}
    if not isinstance(position, dict):
        raise ValidationFailed.field("position", "Send lat and lon as numbers.")
    lat, lon = position.get("lat"), position.get("lon")
    if lat is not None and (isinstance(lat, bool) or not isinstance(lat, (int, float))
                            or isinstance(lon, bool) or not isinstance(lon, (int, float))):
        raise ValidationFailed.field("position", "Send lat and lon as numbers.")
    signer = data.get("signer_name")
    if signer is not None and not isinstance(signer, str):
        raise ValidationFailed.field("signer_name", "The signer's name is a text.")
    item = proof.add_proof(user, assignment, task_key, upload, at=at, lat=lat, lon=lon,
                           signer_name=signer)
    return 201, {"task": task_key, "proof_id": item.id, "mime": item.mime,
                 "captured_at": item.captured_at.isoformat()}


def apply(user: User, item: dict, upload: Upload | None = None) -> Outcome:
    """Apply one action sent on its own (or return the result of its first delivery),
    serialised with the technician's other syncs like a queue."""
    key, action, assignment_id, data = _shape(item)
    # Before the keys are read: a delivery holding this key may hold the work's lock.
    tech = lock_own_profile(user)
    first = _stored(tech.id, [key]).get(key)
    if first is not None:
        return _duplicate(first, key, action, assignment_id)
    batch = _Batch(tech.id)
    outcome = _perform_one(user, item, key, action, assignment_id, data, batch, upload)
    _store(batch.results)
    return outcome


def _shape(item: dict) -> tuple[str, str, int, dict]:
    """The key, action, assignment and data of a well-formed action, or a field error."""
    key, action = item.get("key"), item.get("action")
    if not isinstance(key, str) or not _KEY.match(key):
        raise ValidationFailed.field("key", "Send an idempotency key of 8–64 letters, digits, "
                                            "- or _.")
    if action not in ACTIONS:
        raise ValidationFailed.field("action", f"The action is one of {', '.join(ACTIONS)}.")
    assignment_id = item.get("assignment_id")
    if isinstance(assignment_id, bool) or not isinstance(assignment_id, int) \
            or not 0 < assignment_id < 2 ** 31:
        raise ValidationFailed.field("assignment_id", "Name the assignment by its id.")
    data = item.get("data") or {}
    if not isinstance(data, dict):
        raise ValidationFailed.field("data", "Send the action's data as an object.")
    return key, action, assignment_id, data


def _duplicate(first: tuple[str, int, int, dict | None], key: str, action: str,
               assignment_id: int) -> Outcome:
    first_action, first_assignment, status, result = first
    if first_action != action or first_assignment != assignment_id:
        return Outcome(key, 422, _error(ValidationFailed.field(
            "key", "This key was used for another action.")), duplicate=True)
    return Outcome(key, status, result or {}, duplicate=True)


def _store(results: dict[str, dict]) -> None:
    """The keys applied and their first results (one statement for a whole batch)."""
    if results:
        now = clock.now()
        stmt = built_once(("sync.store",), AppliedAction.__table__.insert)
        db.session.execute(stmt, [{**row, "received_at": now} for row in results.values()])


def apply_batch(user: User, items: list) -> list[Outcome]:
    """A queue, in the order the phone recorded it; each action stands on its own.

    Set-based: the keys delivered before are read with the work, a run of answers to
    one job is written and audited by one statement each, and the new keys with their
    results are stored by one INSERT; check-in, check-out and proof go through their
    services one by one."""
    if not isinstance(items, list) or not items:
        raise ValidationFailed.field("actions", "Send a list of actions.")
    if len(items) > MAX_BATCH:
        raise ValidationFailed.field("actions", f"At most {MAX_BATCH} actions at once.")
    if not all(isinstance(i, dict) for i in items):
        raise ValidationFailed.field("actions", "Each action is an object.")
    tech_id = lock_own_profile(user).id
    outcomes: list[Outcome | None] = [None] * len(items)
    shaped: dict[int, tuple[str, str, int, dict]] = {}
    first_of: dict[str, int] = {}
    for i, item in enumerate(items):
        try:
            shaped[i] = _shape(item)
        except DomainError as exc:  # a malformed action: refused, not stored (no valid key)
            outcomes[i] = Outcome(str(item.get("key"))[:64], exc.status, _error(exc))
            continue
        first_of.setdefault(shaped[i][0], i)
    batch = _Batch(tech_id)
    earlier = _hold_work(tech_id, {shaped[i][2] for i in first_of.values()}, first_of,
                         batch) if first_of else {}
    todo: list[int] = []                # positions to apply, in order
    for i, (key, action, assignment_id, _) in shaped.items():
        if first_of[key] != i:
            continue                    # a repeat within the queue: answered below
        if key in earlier:
            outcomes[i] = _duplicate(earlier[key], key, action, assignment_id)
        else:
            todo.append(i)
    _perform_all(user, items, shaped, todo, outcomes, batch)
    for i, (key, action, assignment_id, _) in shaped.items():
        if first_of[key] != i:          # earlier in this very queue
            first = outcomes[first_of[key]]
            same = shaped[first_of[key]]
            outcomes[i] = (Outcome(key, first.status, first.result, duplicate=True)
                           if (same[1], same[2]) == (action, assignment_id) else
                           Outcome(key, 422, _error(ValidationFailed.field(
                               "key", "This key was used for another action.")),
                                   duplicate=True))
    _store(batch.results)
    return outcomes


def _perform_all(user: User, items: list, shaped: dict, todo: list[int],
                 outcomes: list, batch: _Batch) -> None:
    """Apply the new actions in order: consecutive answers on one job together."""
    at = 0
    while at < len(todo):
        i = todo[at]
        key, action, assignment_id, data = shaped[i]
        if action != "answer":
            outcomes[i] = _perform_one(user, items[i], key, action, assignment_id, data,
                                       batch)
            at += 1
            continue
        run = [todo[at]]
        while at + len(run) < len(todo):
            nxt = shaped[todo[at + len(run)]]
            if nxt[1] != "answer" or nxt[2] != assignment_id:
                break
            run.append(todo[at + len(run)])
        _answer_run(user, items, shaped, run, outcomes, batch)
        at += len(run)


def _perform_one(user: User, item: dict, key: str, action: str, assignment_id: int,
                 data: dict, batch: _Batch, upload: Upload | None = None) -> Outcome:
    """One action: refused (its error the stored result) or applied. Check-in and
    check-out refuse before they write anything; proof, which stores files first, is
    applied in a savepoint."""
    savepoint = db.session.begin_nested() if action == "proof" else None
    try:
        at = parse_instant(item.get("recorded_at"), "recorded_at")
        status, result = _perform(user, action, assignment_id, at, data, upload, batch)
        if savepoint is not None:
            savepoint.commit()
    except DomainError as exc:
        if savepoint is not None:
            savepoint.rollback()
        status, result = exc.status, _error(exc)
    batch.done(key, action, assignment_id, status, result)
    return Outcome(key, status, result)


def _answer_run(user: User, items: list, shaped: dict, run: list[int],
                outcomes: list, batch: _Batch) -> None:
    """Answers to one job, one after the other in the queue: written together."""
    refused: dict[int, DomainError] = {}
    answers = []
    for i in run:
        data = shaped[i][3]
        try:
            at = parse_instant(items[i].get("recorded_at"), "recorded_at")
            if not isinstance(data.get("task"), str):
                raise ValidationFailed.field("task", "Name the task.")
            answers.append((i, data["task"], data.get("value"), at))
        except DomainError as exc:
            refused[i] = exc
    done: dict[int, object] = {}
    if answers:     # no savepoint: what refuses the run does so before anything is written
        try:
            assignment = access_work_as_technician(user, shaped[run[0]][2])
            batch.held[assignment.id] = assignment
            held = proof.answer_tasks(user, assignment, [a[1:] for a in answers])
            done = {i: answer for (i, *_), answer in zip(answers, held)}
        except DomainError as exc:
            done = {i: exc for i, *_ in answers}
    for i in run:
        found = refused.get(i) or done.get(i)
        if isinstance(found, DomainError):
            status, result = found.status, _error(found)
        else:
            status, result = 200, {"task": found.task_key, "value": found.value,
                                   "answered_at": found.answered_at.isoformat()}
        key, action, assignment_id, _ = shaped[i]
        batch.done(key, action, assignment_id, status, result)
        outcomes[i] = Outcome(key, status, result)


def _error(exc: DomainError) -> dict:
    return {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}
