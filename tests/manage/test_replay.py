"""Offline queues replayed: every key applies once, whatever arrives twice, out of order,
at the same moment, or after the server died between applying and committing.

The concurrent sends run on PostgreSQL with real threads, each on its own connection;
on SQLite the same deliveries are made one after the other."""
from __future__ import annotations

import io
import random
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import event, func, select, text
from sqlalchemy.pool import NullPool

from marketplace import create_app
from marketplace.accounts.models import User
from marketplace.accounts.tokens import issue_api_token
from marketplace.core import clock
from marketplace.core.actions import Action
from marketplace.core.audit import AuditEntry
from marketplace.core.uploads import Upload
from marketplace.engage.models import Offer
from marketplace.extensions import db
from marketplace.manage import sync, visits
from marketplace.manage.models import AppliedAction, ProofFile, TaskAnswer, Visit
from tests import factories
from tests.manage.helpers import at_site, taken_work


def _other_app(app, **engine_options):
    """Another app object on the same database: a racer's, or the one a restarted
    server builds."""
    config = {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
              "STORAGE_DIR": app.config["STORAGE_DIR"]}
    if engine_options:
        config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options
    return create_app("testing", config)


def _postgres_only(app):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("concurrent deliveries are raced on PostgreSQL")


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _audits(action: Action) -> int:
    return _count(AuditEntry, AuditEntry.action == action.value)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (24, 16), (90, 140, 40)).save(out, "PNG")
    return out.getvalue()


# --- the same queue, sent several times at once ----------------------------------------

def _visit_queue(job, now: datetime) -> list[dict]:
    """A visit recorded offline: check-in, answers (one queued twice), a refused answer
    stamped in the future, check-out."""
    def item(key, action, minutes_ago, **data):
        return {"key": key, "action": action, "assignment_id": job.id,
                "recorded_at": (now - timedelta(minutes=minutes_ago)).isoformat(), "data": data}
    return [
        item("q-checkin-01", "check_in", 40, position={**at_site(job), "taken_at": None}),
        item("q-level-001", "answer", 35, task="level", value={"number": -48}),
        item("q-result-01", "answer", 30, task="result", value={"choice": "Pass"}),
        item("q-level-001", "answer", 35, task="level", value={"number": -48}),
        item("q-ground-01", "answer", 25, task="ground", value={"done": True}),
        item("q-future-01", "answer", -30, task="ground", value={"done": True}),
        item("q-checkout1", "check_out", 5, position=None),
    ]


def _post_at_once(racer, path: str, payload: dict, clients: list) -> list[tuple[int, dict]]:
    """Each client posts the same body from its own thread, all released together."""
    barrier = threading.Barrier(len(clients))
    answers: list = [None] * len(clients)

    def run(index, prepare):
        client = racer.test_client()
        headers = prepare(client)
        barrier.wait(timeout=60)
        response = client.post(path, json=payload, headers=headers)
        answers[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return answers


@pytest.mark.parametrize("sends,transport", [(2, "session"), (4, "token")])
def test_one_queue_sent_several_times_at_once_applies_each_action_once(app, ctx, sends,
                                                                       transport):
    _postgres_only(app)
    _, tech, job = taken_work()
    clock.travel_to(job.starts_at + timedelta(minutes=45), freeze=True)
    queue = _visit_queue(job, clock.now())
    email, job_id = tech.user.email, job.id
    if transport == "token":
        _, raw = issue_api_token(tech.user, "phone")
        db.session.commit()
        path = "/api/v1/work/sync"

        def prepare(client):
            return {"Authorization": f"Bearer {raw}"}
    else:
        path = "/work/sync"

        def prepare(client):
            response = client.post("/login", data={"email": email,
                                                   "password": factories.PASSWORD})
            assert response.status_code == 302
            return {}
    db.session.remove()
    racer = _other_app(app, poolclass=NullPool)
    answers = _post_at_once(racer, path, {"actions": queue}, [prepare] * sends)

    assert [code for code, _ in answers] == [200] * sends, answers
    deliveries = [body["results"] for _, body in answers]
    firsts = [d for d in deliveries if not d[0]["duplicate"]]
    assert len(firsts) == 1, "one delivery applies the queue, the others replay it"
    first = firsts[0]
    assert [o["status"] for o in first] == [201, 200, 200, 200, 200, 422, 201]
    assert [o["duplicate"] for o in first] == [False] * 3 + [True] + [False] * 3
    for delivery in deliveries:
        assert [(o["key"], o["status"], o["result"]) for o in delivery] == \
            [(o["key"], o["status"], o["result"]) for o in first]
        if delivery is not first:
            assert all(o["duplicate"] for o in delivery)
    assert _count(Visit) == 1
    visit = db.session.scalar(select(Visit))
    assert visit.checkout_at is not None and visit.id == first[0]["result"]["visit_id"]
    assert sorted(db.session.scalars(select(TaskAnswer.task_key).where(
        TaskAnswer.assignment_id == job_id))) == ["ground", "level", "result"]
    assert _count(AppliedAction) == len({item["key"] for item in queue})
    assert (_audits(Action.VISIT_CHECKED_IN), _audits(Action.VISIT_CHECKED_OUT),
            _audits(Action.TASK_ANSWERED)) == (1, 1, 3)


def test_a_queue_replayed_in_the_same_transaction_answers_its_first_results(app, ctx):
    """A queue holding a retry of its own is stored at the batch's end; a second
    delivery in the same session still reads the stored results, not stale ones."""
    _, tech, job = taken_work()
    clock.travel_to(job.starts_at + timedelta(minutes=45), freeze=True)
    queue = _visit_queue(job, clock.now())
    first = [o.as_dict() for o in sync.apply_batch(tech.user, queue)]
    again = [o.as_dict() for o in sync.apply_batch(tech.user, queue)]
    db.session.commit()
    assert [o["status"] for o in first] == [201, 200, 200, 200, 200, 422, 201]
    assert [(o["key"], o["status"], o["result"]) for o in again] == \
        [(o["key"], o["status"], o["result"]) for o in first]
    assert all(o["duplicate"] for o in again)


def test_a_single_action_racing_a_queue_that_holds_its_key_applies_once(app, ctx):
    """The app posts an answer on its own while the queue holding the same key is
    replayed: they are serialised (no deadlock), the key applies once."""
    _postgres_only(app)
    _, tech, job = taken_work()
    clock.travel_to(job.starts_at + timedelta(minutes=30), freeze=True)
    now, user_id, job_id = clock.now(), tech.user.id, job.id

    def item(key, minutes_ago, task, value, action="answer"):
        return {"key": key, "action": action, "assignment_id": job_id,
                "recorded_at": (now - timedelta(minutes=minutes_ago)).isoformat(),
                "data": {"task": task, "value": value}}
    sync.apply_batch(tech.user, [{"key": "s-checkin-01", "action": "check_in",
                                  "assignment_id": job_id, "data": {},
                                  "recorded_at": (now - timedelta(minutes=20)).isoformat()}])
    db.session.commit()
    db.session.remove()
    shared = item("s-shared-01", 10, "level", {"number": -40})
    queue = [item("s-result-01", 12, "result", {"choice": "Pass"}), shared]

    racer = _other_app(app, poolclass=NullPool)
    storing, release = threading.Event(), threading.Event()
    outcomes: dict[str, object] = {}

    def pause_as_it_stores(conn, cursor, statement, params, context, many):
        # The single action stops as it stores its key, its work done, not committed.
        if threading.current_thread().name == "single" and not storing.is_set() \
                and statement.lstrip().upper().startswith("INSERT INTO APPLIED_ACTIONS"):
            storing.set()
            release.wait(timeout=30)

    def run(name, fn):
        with racer.app_context():
            try:
                user = db.session.get(User, user_id)
                outcomes[name] = fn(user)
                db.session.commit()
            except Exception as exc:  # reported by the assertion below
                db.session.rollback()
                outcomes[name] = f"{exc.__class__.__name__}: {str(exc)[:200]}"
            finally:
                db.session.remove()

    with racer.app_context():
        event.listen(db.engine, "after_cursor_execute", pause_as_it_stores)
    single = threading.Thread(name="single", target=run,
                              args=("single", lambda user: sync.apply(user, shared)))
    batch = threading.Thread(name="batch", target=run,
                             args=("batch", lambda user: sync.apply_batch(user, queue)))
    single.start()
    assert storing.wait(timeout=30)
    batch.start()
    deadline = time.monotonic() + 30
    with db.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar()
            conn.rollback()  # the statistics views are read once per transaction
            if waiting:
                break
            time.sleep(0.02)
    release.set()
    single.join(timeout=60)
    batch.join(timeout=60)

    assert isinstance(outcomes["single"], sync.Outcome), outcomes
    assert isinstance(outcomes["batch"], list), outcomes
    replayed = outcomes["batch"][1]
    assert outcomes["single"].status == 200 and not outcomes["single"].duplicate
    assert replayed.duplicate and replayed.result == outcomes["single"].result
    assert _audits(Action.TASK_ANSWERED) == 2
    assert _count(AppliedAction) == 3


@pytest.mark.parametrize("position", [[32.7, -96.8], "here", 7])
def test_a_proof_with_a_malformed_position_is_refused_with_a_field_error(app, ctx, position):
    _, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    stamp = clock.now().isoformat()
    sync.apply(tech.user, {"key": "m-checkin-01", "action": "check_in", "assignment_id": job.id,
                           "recorded_at": stamp, "data": {}})
    outcome = sync.apply(tech.user, {"key": "m-proof-001", "action": "proof",
                                     "assignment_id": job.id, "recorded_at": stamp,
                                     "data": {"task": "photos", "position": position}},
                         Upload("rack.png", _png()))
    assert outcome.status == 422 and "position" in outcome.result["error"]["fields"]
    assert _count(ProofFile) == 0


def test_a_queue_reads_the_acceptance_once_and_a_new_transaction_reads_it_afresh(app, ctx):
    """Every action's recorded time is checked against the acceptance: one read per
    transaction (and state of the work), not one per action."""
    _, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    now, reads = clock.now(), []
    def listener(conn, cursor, statement, *_):
        if "responded_at" in statement and "offers" in statement:
            reads.append(statement)
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        queue = [{"key": f"a-answer-{n:03d}", "action": "answer", "assignment_id": job.id,
                  "recorded_at": (now - timedelta(minutes=20 - n)).isoformat(),
                  "data": {"task": "level", "value": {"number": -40 - n}}} for n in range(5)]
        sync.apply(tech.user, {"key": "a-checkin-01", "action": "check_in",
                               "assignment_id": job.id, "data": {},
                               "recorded_at": (now - timedelta(minutes=30)).isoformat()})
        db.session.commit()
        reads.clear()
        assert [o.status for o in sync.apply_batch(tech.user, queue)] == [200] * 5
        assert len(reads) == 1
        db.session.commit()
        offer = db.session.scalar(select(Offer).where(Offer.assignment_id == job.id))
        offer.responded_at = now - timedelta(minutes=5)   # as if accepted only just now
        db.session.commit()
        late = sync.apply(tech.user, {**queue[0], "key": "a-answer-late"})
        assert late.status == 422 and "before you accepted" in \
            late.result["error"]["fields"]["recorded_at"]
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


# --- randomized replay against a model the test keeps ------------------------------------

CYCLES = 1000
JOBS = 4
KEY = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
GOOD = {"level": lambda r: {"number": r.randint(-90, -20)},
        "result": lambda r: {"choice": r.choice(["Pass", "Fail"])},
        "ground": lambda r: {"done": True}}
BAD = {"level": lambda r: {"number": r.choice([-10, 3, "abc"])},
       "result": lambda r: {"choice": "Maybe"},
       "ground": lambda r: {"done": False}}


def _valid_value(task: str, value: dict) -> bool:
    if task == "level":
        number = value.get("number")
        return isinstance(number, int) and -90 <= number <= -20
    if task == "result":
        return value.get("choice") in ("Pass", "Fail")
    return value.get("done") is True


@dataclass
class Work:
    """What the server must hold for one assignment, by the rules of the phone's work."""
    started: bool = False
    visits: list = field(default_factory=list)      # [checkin_at, checkout_at or None]
    answers: dict = field(default_factory=dict)     # task -> (answered_at, value)
    proofs: int = 0


class Model:
    """The test's own account of every committed delivery: which key took which effect."""

    def __init__(self, skew: timedelta):
        self.skew = skew
        self.works: dict[int, Work] = {}
        self.applied: dict[tuple[int, str], tuple[str, int, int]] = {}
        self.answer_held: dict[tuple[int, str], tuple] = {}    # the answer each one leaves

    def deliver(self, tech_id: int, items: list[dict]) -> list[tuple[int, bool]]:
        """The (status, duplicate) each item of one delivery answers; the model moves on."""
        return [self._item(tech_id, item) for item in items]

    def _item(self, tech_id, item):
        key, action = item["key"], item["action"]
        if not isinstance(key, str) or not KEY.match(key) or action not in sync.ACTIONS:
            return 422, False                   # malformed: refused, not stored
        first = self.applied.get((tech_id, key))
        if first is not None:
            same = first[:2] == (action, item["assignment_id"])
            return (first[2] if same else 422), True
        work = self.works[item["assignment_id"]]
        status = self._effect(work, action, item)
        self.applied[(tech_id, key)] = (action, item["assignment_id"], status)
        if action == "answer" and status == 200:
            self.answer_held[(tech_id, key)] = work.answers[item["data"]["task"]]
        return status, False

    def _effect(self, work: Work, action: str, item: dict) -> int:
        at = datetime.fromisoformat(item["recorded_at"])
        future = at > clock.now() + self.skew
        is_open = bool(work.visits) and work.visits[-1][1] is None
        if action == "check_in":
            if future:
                return 422
            if is_open:
                return 409
            work.visits.append([at, None])
            work.started = True
            return 201
        if action == "check_out":
            if future:
                return 422
            if not is_open:
                return 409
            if at < work.visits[-1][0]:
                return 422
            work.visits[-1][1] = at
            return 201
        if not work.started:
            return 409
        if future:
            return 422
        if action == "proof":
            work.proofs += 1
            return 201
        task, value = item["data"]["task"], item["data"]["value"]
        if not _valid_value(task, value):
            return 422
        held = work.answers.get(task)
        if held is None or at >= held[0]:       # the later answer wins, in any arrival order
            work.answers[task] = (at, value)
        return 200


class Replay:
    """Delivers queues the way a flaky network and a restarting server do, and checks
    every answer against the model."""

    def __init__(self, app, rng: random.Random, jobs: list[tuple[int, int, int]]):
        self.base_app, self.app, self.rng = app, app, rng
        self.racer = _other_app(app) if app.config["BACKEND"] == "postgresql" else None
        self.pool = ThreadPoolExecutor(2) if self.racer else None
        self.jobs = jobs                                    # (user_id, tech_id, job_id)
        with app.app_context():
            self.model = Model(visits.clock_skew())
        self.model.works = {job_id: Work() for _, _, job_id in jobs}
        self.first_results: dict[tuple[int, str], dict] = {}
        self.stuck: list = []                   # queues a phone has not managed to send yet
        self.seen = {"deliveries": 0, "duplicates": 0, "refused": 0, "concurrent": 0,
                     "restarts": 0, "reordered": 0, "late": 0, "stuck": 0, "proofs": 0}

    def close(self):
        if self.pool:
            self.pool.shutdown()
        for other in {self.app, self.racer} - {None, self.base_app}:
            with other.app_context():
                db.engine.dispose()

    # one delivery = one request: its own app context, one commit (or none: a crash)
    @staticmethod
    def _send(app, user_id, items, upload=None, crash=False, barrier=None):
        with app.app_context():
            try:
                user = db.session.get(User, user_id)
                if barrier is not None:
                    barrier.wait(timeout=60)
                if upload is not None:
                    outcomes = [sync.apply(user, items[0], upload)]
                else:
                    outcomes = sync.apply_batch(user, items)
                if crash:
                    db.session.rollback()   # the process died before the commit
                else:
                    db.session.commit()
                return [o.as_dict() for o in outcomes]
            finally:
                db.session.remove()

    def _check(self, tech_id, items, got, expected):
        assert [(o["status"], o["duplicate"]) for o in got] == expected, (items, got)
        for item, outcome, (_, duplicate) in zip(items, got, expected):
            key = (tech_id, item["key"])
            if key not in self.model.applied or self.model.applied[key][0] != item["action"]:
                continue                    # malformed, or a key reused for another action
            self.seen["duplicates"] += duplicate
            self.seen["refused"] += outcome["status"] >= 400 and not duplicate
            assert outcome["result"] == self.first_results.setdefault(key, outcome["result"])
            if key in self.model.answer_held:   # the answer held once this one arrived
                answered_at, value = self.model.answer_held[key]
                assert (outcome["result"]["value"], outcome["result"]["answered_at"]) == \
                    (value, answered_at.isoformat()), (item, outcome)

    def send(self, job, items, upload=None):
        user_id, tech_id, _ = job
        self.seen["deliveries"] += 1
        got = self._send(self.app, user_id, items, upload)
        self._check(tech_id, items, got, self.model.deliver(tech_id, items))

    def send_twice(self, job, items, upload=None):
        """The same request sent twice at once (PostgreSQL), or one after the other."""
        if self.racer is None:
            self.send(job, items, upload)
            self.send(job, items, upload)
            return
        user_id, tech_id, _ = job
        self.seen["deliveries"] += 2
        self.seen["concurrent"] += 1
        barrier = threading.Barrier(2)
        futures = [self.pool.submit(self._send, self.racer, user_id, items, upload, False,
                                    barrier) for _ in range(2)]
        got = [f.result(timeout=120) for f in futures]
        first = self.model.deliver(tech_id, items)
        second = self.model.deliver(tech_id, items)
        if [(o["status"], o["duplicate"]) for o in got[0]] != first:
            got.reverse()                   # the other thread won the technician's lock
        self._check(tech_id, items, got[0], first)
        self._check(tech_id, items, got[1], second)

    def crash_and_restart(self, job, items, queue):
        """Part of a batch applied, then the process died before committing; a new
        server (a fresh app object) gets the whole queue again."""
        user_id, tech_id, _ = job
        upto = self.rng.randint(1, len(items))
        got = self._send(self.app, user_id, items[:upto], crash=True)
        scratch = deepcopy(self.model)
        assert [(o["status"], o["duplicate"]) for o in got] == \
            scratch.deliver(tech_id, items[:upto])
        if self.app is not self.base_app:
            with self.app.app_context():
                db.engine.dispose()
        self.app = _other_app(self.base_app)
        self.seen["restarts"] += 1
        self.send(job, queue)

    def cycle(self, number: int, history: dict):
        rng = self.rng
        job = rng.choice(self.jobs)
        if number % 100 == 50:
            self.seen["proofs"] += 1
            item = {"key": f"p{number:04d}-{rng.getrandbits(32):08x}", "action": "proof",
                    "assignment_id": job[2], "recorded_at": clock.now().isoformat(),
                    "data": {"task": "photos"}}
            self.send_twice(job, [item], Upload("rack.png", _png()))
        if self.stuck and rng.random() < 0.3:  # an old queue gets through, first time
            old_job, old_queue = self.stuck.pop(rng.randrange(len(self.stuck)))
            self.send(old_job, old_queue)
        queue = self._queue(number, job[2])
        history.setdefault(job, []).append(queue)
        if rng.random() < 0.05:
            self.stuck.append((job, queue))     # sent cycles later, after newer actions
            self.seen["stuck"] += 1
            return
        cut = sorted(rng.sample(range(1, len(queue)), min(len(queue) - 1, rng.randint(0, 2))))
        batches = [queue[a:b] for a, b in zip([0, *cut], [*cut, len(queue)])]
        if len(batches) > 1 and rng.random() < 0.25:
            rng.shuffle(batches)            # a later batch overtakes an earlier one
            self.seen["reordered"] += 1
        for batch in batches:
            if rng.random() < 0.1:          # a retry inside the queue itself
                batch = batch + [rng.choice(batch)]
            roll = rng.random()
            if roll < 0.012:
                self.crash_and_restart(job, batch, queue)
            elif roll < 0.2:
                self.send_twice(job, batch)
            else:
                self.send(job, batch)
        if rng.random() < 0.15:             # the response was lost: the whole queue again
            self.send(job, queue)
        if len(history[job]) > 1 and rng.random() < 0.08:
            self.seen["late"] += 1          # a retry from long ago finally arrives
            self.send(job, rng.choice(history[job][:-1]))

    def _queue(self, number: int, job_id: int) -> list[dict]:
        rng = self.rng
        answers = [("answer", rng.choice(list(GOOD))) for _ in range(rng.randint(0, 2))]
        shape = rng.random()
        if shape < 0.5:
            plan = [("check_in", None), *answers, ("check_out", None)]
        elif shape < 0.8:
            plan = answers or [("answer", "level")]
        else:
            plan = [rng.choice([("check_in", None), ("check_out", None), ("answer", "ground")])]
        now, items = clock.now(), []
        for index, (action, task) in enumerate(plan):
            at = now - timedelta(seconds=30 * (len(plan) - index))
            if rng.random() < 0.04:
                at = now + timedelta(minutes=10)        # a phone clock running fast
            data = {}
            if action == "answer":
                value = (BAD if rng.random() < 0.1 else GOOD)[task](rng)
                data = {"task": task, "value": value}
            elif rng.random() < 0.5:
                data = {"position": {"lat": 32.7767, "lon": -96.797, "accuracy": 12,
                                     "taken_at": at.isoformat()}}
            items.append({"key": f"r{number:04d}-{index}-{rng.getrandbits(32):08x}",
                          "action": action, "assignment_id": job_id,
                          "recorded_at": at.isoformat(), "data": data})
        if rng.random() < 0.02:                         # a malformed action
            items.append({"key": "no", "action": "dance", "assignment_id": job_id,
                          "recorded_at": now.isoformat(), "data": {}})
        if rng.random() < 0.01 and self.model.applied:  # an old key, another action
            tech_id = next(t for u, t, j in self.jobs if j == job_id)
            reused = [k for (t, k), v in self.model.applied.items()
                      if t == tech_id and v[0] != "proof"]
            if reused:
                items.append({"key": rng.choice(reused), "action": "proof",
                              "assignment_id": job_id, "recorded_at": now.isoformat(),
                              "data": {"task": "photos"}})
        return items


def test_randomized_replay_loses_nothing_and_applies_nothing_twice(app, ctx):
    rng = random.Random(1234)
    jobs = []
    for _ in range(JOBS):
        _, tech, job = taken_work()
        jobs.append((tech.user.id, tech.id, job.id))
    clock.travel_to(clock.now() + timedelta(days=3), freeze=True)
    db.session.remove()
    replay = Replay(app, rng, jobs)
    history: dict = {}
    try:
        for number in range(CYCLES):
            replay.cycle(number, history)
            clock.advance(timedelta(minutes=rng.randint(1, 20)))
    finally:
        replay.close()

    model = replay.model
    stored = {(a.technician_id, a.key): (a.action, a.assignment_id, a.status)
              for a in db.session.scalars(select(AppliedAction))}
    assert stored == model.applied, "a key lost, or one stored that never committed"
    for row in db.session.scalars(select(AppliedAction)):
        assert row.result == replay.first_results[(row.technician_id, row.key)]
    for _, _, job_id in jobs:
        work = model.works[job_id]
        held = [[v.checkin_at, v.checkout_at] for v in db.session.scalars(
            select(Visit).where(Visit.assignment_id == job_id).order_by(Visit.number))]
        assert held == work.visits
        answers = {a.task_key: (a.answered_at, a.value) for a in db.session.scalars(
            select(TaskAnswer).where(TaskAnswer.assignment_id == job_id))}
        assert answers == work.answers
        assert _count(ProofFile, ProofFile.assignment_id == job_id) == work.proofs
    effects = {}
    for action, _, status in model.applied.values():
        effects[action] = effects.get(action, 0) + (status < 400)
    # Every applied key took exactly one effect: one audit row each, no more, no less.
    assert _audits(Action.VISIT_CHECKED_IN) == effects["check_in"]
    assert _audits(Action.VISIT_CHECKED_OUT) == effects["check_out"]
    assert _audits(Action.TASK_ANSWERED) == effects["answer"]
    assert _audits(Action.PROOF_ADDED) == effects["proof"]
    checkins = {replay.first_results[k]["visit_id"] for k, v in model.applied.items()
                if v[0] == "check_in" and v[2] == 201}
    assert checkins == set(db.session.scalars(select(Visit.id)))
    # The run exercised what it claims to.
    seen = replay.seen
    assert seen["duplicates"] > 500 and seen["refused"] > 100 and seen["restarts"] >= 8
    assert seen["reordered"] > 50 and seen["late"] > 30 and seen["stuck"] > 20
    assert seen["proofs"] == 10
    assert effects["check_in"] > 100 and effects["answer"] > 200 and effects["proof"] > 0
    if app.config["BACKEND"] == "postgresql":
        assert seen["concurrent"] > 100
