"""A queue's replay reads and locks what it needs once: the work (with its record, its
firm's rules and the acceptance) in one statement, never again per action; a check-in
or check-out that is refused writes nothing; the rules saved in a transaction are the
ones it reads next."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, func, select

from marketplace.core import clock
from marketplace.core.actions import Action
from marketplace.core.audit import AuditEntry
from marketplace.extensions import db
from marketplace.find.lifecycle import AssignmentStatus as S
from marketplace.manage import geofence, settings, sync
from marketplace.manage.models import AppliedAction, Visit, WorkRecord
from tests.manage.helpers import at_site, taken_work


class Statements:
    def __init__(self):
        self.seen: list[str] = []

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._add)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._add)

    def _add(self, conn, cursor, statement, *_):
        self.seen.append(" ".join(statement.split()))

    def matching(self, *words: str) -> list[str]:
        return [s for s in self.seen if all(w in s for w in words)]


def _visit(job, now) -> list[dict]:
    def item(key, action, minutes_ago, **data):
        return {"key": key, "action": action, "assignment_id": job.id,
                "recorded_at": (now - timedelta(minutes=minutes_ago)).isoformat(), "data": data}
    return [item("b-checkin-01", "check_in", 40, position={**at_site(job), "taken_at": None}),
            item("b-level-001", "answer", 35, task="level", value={"number": -48}),
            item("b-result-01", "answer", 30, task="result", value={"choice": "Pass"}),
            item("b-checkout1", "check_out", 5, position={**at_site(job), "taken_at": None})]


def test_a_queue_locks_its_work_once_and_reads_the_rules_and_the_acceptance_with_it(app, ctx):
    _, tech, job = taken_work(checklist=[
        {"key": "level", "kind": "number", "label": "Level", "required": True, "min": -90,
         "max": -20},
        {"key": "result", "kind": "choice", "label": "Result", "required": True,
         "choices": ["Pass", "Fail"]}])
    clock.travel_to(job.starts_at + timedelta(minutes=45), freeze=True)
    with Statements() as s:
        outcomes = sync.apply_batch(tech.user, _visit(job, clock.now()))
        db.session.commit()
    assert [o.status for o in outcomes] == [201, 200, 200, 201]
    assert outcomes[0].result["arrival"] == "on_time" and outcomes[3].result["arrival"] == \
        "on_time"
    # The work: one read that locks it, no lock of it per action, no second read.
    held = s.matching("FROM assignments", "work_records", "manage_settings")
    assert len(held) == 1
    if app.config["BACKEND"] == "postgresql":
        assert "FOR NO KEY UPDATE OF assignments" in held[0]
    assert s.matching("UPDATE assignments SET version=assignments.version") == []
    assert s.matching("manage_settings") == held
    # (The KPI and score recounts before commit read their own sources.)
    rest = [x for x in s.seen if x not in held and "kpi" not in x and "UNION" not in x]
    assert [x for x in rest if "FROM offers" in x or "FROM work_records" in x] == []
    # One technician lock (no row lock on PostgreSQL: it would write the row's page), one
    # read of the keys stored before (with the work), one store, for the queue.
    assert len(s.matching("UPDATE technicians") + s.matching("pg_advisory_xact_lock")) == 1
    assert s.matching("FOR NO KEY UPDATE OF technicians") == []
    assert s.matching("FROM applied_actions") == s.matching("FROM applied_actions",
                                                             "FROM assignments") == held
    assert len(s.matching("INSERT INTO applied_actions")) == 1
    assert s.matching("UPDATE applied_actions") == []
    assert s.matching("SAVEPOINT") == []
    visit = db.session.scalar(select(Visit).where(Visit.assignment_id == job.id))
    assert visit.checkout_at is not None and visit.number == 1
    assert db.session.get(WorkRecord, job.id).first_checkin_at == visit.checkin_at


def test_a_refused_check_in_or_check_out_in_a_queue_writes_nothing(app, ctx):
    _, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    now = clock.now()
    audits = db.session.scalar(select(func.count()).select_from(AuditEntry))
    queue = [
        {"key": "r-checkout-1", "action": "check_out", "assignment_id": job.id,
         "recorded_at": (now - timedelta(minutes=5)).isoformat(), "data": {}},
        {"key": "r-future-01", "action": "check_in", "assignment_id": job.id,
         "recorded_at": (now + timedelta(hours=1)).isoformat(), "data": {}},
        {"key": "r-checkin-01", "action": "check_in", "assignment_id": job.id,
         "recorded_at": (now - timedelta(minutes=3)).isoformat(), "data": {}},
        {"key": "r-checkin-02", "action": "check_in", "assignment_id": job.id,
         "recorded_at": (now - timedelta(minutes=2)).isoformat(), "data": {}},
    ]
    outcomes = sync.apply_batch(tech.user, queue)
    db.session.commit()
    assert [o.status for o in outcomes] == [409, 422, 201, 409]
    assert outcomes[3].result["error"]["code"] == "already_checked_in"
    assert db.session.scalar(select(func.count()).select_from(Visit).where(
        Visit.assignment_id == job.id)) == 1
    db.session.refresh(job)
    assert job.status == S.IN_PROGRESS
    # The applied check-in: its move and its visit audited; the refused ones: nothing.
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audits + 2
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == Action.VISIT_CHECKED_IN.value)) == 1
    assert db.session.scalar(select(func.count()).select_from(AppliedAction)) == 4


def test_the_rules_are_read_once_a_transaction_and_afresh_once_saved(app, ctx):
    owner, tech, job = taken_work()
    job.geofence_m = None
    db.session.commit()
    with Statements() as s:
        assert geofence.settings_for(job.firm_id).geofence_m == 150
        assert geofence.settings_for(job.firm_id).late_minutes == 15
    assert len(s.matching("FROM manage_settings")) == 1
    settings.save(owner, {"early_minutes": 20, "late_minutes": 5, "geofence_m": 400,
                          "sla_warning_minutes": 30})
    assert geofence.settings_for(job.firm_id).geofence_m == 400
    assert geofence.radius_for(job) == 400
    db.session.commit()
    settings.save(owner, {"early_minutes": 20, "late_minutes": 5, "geofence_m": 90,
                          "sla_warning_minutes": 30})
    assert geofence.radius_for(job) == 90
    db.session.rollback()
    assert geofence.radius_for(job) == 400


def test_the_acceptance_read_with_the_work_judges_a_time_before_it(app, ctx):
    """The acceptance comes with the held work: a time before it is still refused."""
    _, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    long_ago = clock.now() - timedelta(days=4)
    outcomes = sync.apply_batch(tech.user, [
        {"key": "t-checkin-01", "action": "check_in", "assignment_id": job.id,
         "recorded_at": long_ago.isoformat(), "data": {}}])
    db.session.commit()
    assert outcomes[0].status == 422
    assert "before you accepted" in outcomes[0].result["error"]["fields"]["recorded_at"]
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 0


def test_the_technicians_lock_writes_nothing_to_their_profile(app, ctx):
    """The lock that serialises a technician's syncs leaves their row as it was (on
    PostgreSQL an advisory lock, not a row lock that would hold up an edit of their
    profile; on SQLite a write of the same values)."""
    _, tech, job = taken_work(checklist=[])
    stamp = tech.updated_at
    db.session.commit()
    clock.travel_to(job.starts_at + timedelta(minutes=45), freeze=True)
    with Statements() as s:
        sync.apply_batch(tech.user, _visit(job, clock.now())[:1])
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(type(tech), tech.id).updated_at == stamp
    if db.engine.dialect.name == "postgresql":
        assert s.matching("FROM technicians", "pg_advisory_xact_lock")
        assert not s.matching("UPDATE technicians")
        assert not s.matching("FROM technicians", "FOR ")


def test_a_queue_naming_no_work_still_answers_its_keys_stored_before(app, ctx):
    """The keys stored before are read with the work; a queue that names no work the
    technician holds reads them on their own, and a key used before is never applied
    (nor stored) again."""
    _, tech, job = taken_work(checklist=[])
    _, _, other_job = taken_work(checklist=[])
    clock.travel_to(job.starts_at + timedelta(minutes=5), freeze=True)
    first = sync.apply_batch(tech.user, _visit(job, clock.now())[:1])
    db.session.commit()
    assert first[0].status == 201
    reused = {**_visit(job, clock.now())[0], "assignment_id": other_job.id}
    again = sync.apply_batch(tech.user, [reused])
    db.session.commit()
    assert again[0].duplicate and again[0].status == 422
    assert "another action" in again[0].result["error"]["fields"]["key"]
    assert db.session.scalar(select(func.count()).select_from(AppliedAction).where(
        AppliedAction.technician_id == tech.id)) == 1
    repeat = sync.apply_batch(tech.user, _visit(job, clock.now())[:1])
    assert repeat[0].duplicate and repeat[0].status == 201
    assert repeat[0].result == first[0].result
