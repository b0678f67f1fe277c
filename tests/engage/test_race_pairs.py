"""Races between different actions on one assignment and its offers.

Every action that changes an assignment or its offers is paired with every other
action that can meet it on the same assignment (the pairs are derived from the
scenarios each action can start from). Each pair runs a few rounds on PostgreSQL,
each on a fresh scenario: two real threads with their own connections make their
reads (as a request does before it acts), wait at a barrier, then act and commit.
One invariant checker then judges the result.

To add an action (check-in, submit, approve, pay...): write it below with
`@action(<scenarios it can start from>)`, doing its reads, then `yield`, then its
write; add a scenario to SCENARIOS if none fits. The pairs follow.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import combinations, pairwise

import pytest
from sqlalchemy import select

from marketplace.accounts.models import TechnicianProfile, User
from marketplace.core import clock
from marketplace.core.actions import Action
from marketplace.core.audit import AuditEntry
from marketplace.engage import backfill, offers, routing
from marketplace.engage.marketplace import respond_from_marketplace
from marketplace.engage.models import (
    LIVE_OFFER_STATES,
    Cancellation,
    Counteroffer,
    CounterStatus,
    Engagement,
    Offer,
    OfferStatus,
    RoutingMode,
    TargetKind,
)
from marketplace.errors import InvalidState, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.find import assignments as find_assignments
from marketplace.find.lifecycle import BOOKED_STATES
from marketplace.find.models import Assignment
from marketplace.find.models import AssignmentStatus as S
from marketplace.notifications.models import Notification
from marketplace.verify.models import CredentialType
from tests import factories
from tests.conftest import _empty_all_tables
from tests.engage.test_races import _threaded_app
from tests.find.helpers import (
    DALLAS,
    START,
    give_credential,
    make_assignment,
    requirement_set,
    tech_at,
)

NOW = START - timedelta(days=2)          # inside the cancellation cutoff: cancelling costs the fee
CUTOFF_HOURS, LATE_FEE = 72, 5000
REROUTED_FEE = 1000                      # a re-route's new late fee (never once taken)
ELSEWHERE = START + timedelta(hours=4)   # the first technician's other booked job (2 hours)
ADDRESS = "2500 Victory Ave, Dallas, TX 75219"
FAILURES = (InvalidState, PermissionDenied, ValidationFailed)  # a clean refusal
# Seconds each side waits after the barrier: at once, then each side a head start.
ROUNDS = ((0.0, 0.0), (0.0, 0.05), (0.05, 0.0))


@dataclass(frozen=True)
class World:
    """Ids of one scenario: a firm, two technicians offered one assignment."""
    owner: int
    techs: tuple[int, int]
    job: int
    offers: tuple[int, int]
    counter: int | None
    ctype: int


# --- scenarios: where a pair starts ---------------------------------------------------

def _prepare_open(owner, job, techs, o1, o2):
    return None


def _prepare_applied(owner, job, techs, o1, o2):
    offers.apply_to_offer(techs[0].user, o1)


def _prepare_countered(owner, job, techs, o1, o2):
    """The second technician asks for more money."""
    return offers.propose_counteroffer(techs[1].user, o2, price_cents=23000)


def _prepare_rescheduling(owner, job, techs, o1, o2):
    """The second technician asks for the next day."""
    later = job.starts_at + timedelta(days=1)
    return offers.propose_counteroffer(techs[1].user, o2, price_cents=job.budget_cents,
                                       starts_at=later, ends_at=later + timedelta(hours=2))


def _prepare_firm_countered(owner, job, techs, o1, o2):
    """The firm offers the second technician less."""
    return offers.propose_counteroffer(owner, o2, price_cents=18000)


def _prepare_assigned(owner, job, techs, o1, o2):
    offers.accept_offer(techs[0].user, o1)


# name: (routing mode, how to get there). Pairs start from the first that fits both.
SCENARIOS: dict[str, tuple[RoutingMode, Callable]] = {
    "open": (RoutingMode.FIRST_TO_ACCEPT, _prepare_open),
    "applied": (RoutingMode.APPLY_AND_CHOOSE, _prepare_applied),
    "countered": (RoutingMode.FIRST_TO_ACCEPT, _prepare_countered),
    "rescheduling": (RoutingMode.FIRST_TO_ACCEPT, _prepare_rescheduling),
    "firm_countered": (RoutingMode.FIRST_TO_ACCEPT, _prepare_firm_countered),
    "assigned": (RoutingMode.FIRST_TO_ACCEPT, _prepare_assigned),
}
UNTAKEN = ("open", "applied", "countered", "rescheduling", "firm_countered")


def build(scenario: str, n: int) -> World:
    """A firm; two compliant technicians, the first already booked later that day;
    an assignment with a late-cancellation fee offered to both; then the scenario."""
    mode, prepare = SCENARIOS[scenario]
    owner = factories.firm_user()
    rs, ctype = requirement_set(owner.firm, name=f"race {n}")
    techs = [tech_at(DALLAS[0] + i * 0.01, DALLAS[1]) for i in range(2)]
    for tech in techs:
        give_credential(tech, ctype)
    make_assignment(owner, title="Booked elsewhere", starts_at=ELSEWHERE, status=S.ASSIGNED,
                    assignee_id=techs[0].id)
    job = make_assignment(owner, requirement_set_id=rs.id)
    routing.route_assignment(owner, job, mode=mode, cancellation_cutoff_hours=CUTOFF_HOURS,
                             cancellation_fee_cents=LATE_FEE,
                             stages=[routing.StagePlan(TargetKind.TECHNICIANS,
                                                       technician_ids=[t.id for t in techs])])
    o1, o2 = (db.session.scalar(select(Offer).where(Offer.assignment_id == job.id,
                                                    Offer.technician_id == t.id))
              for t in techs)
    counter = prepare(owner, job, techs, o1, o2)
    db.session.commit()
    return World(owner=owner.id, techs=(techs[0].id, techs[1].id), job=job.id,
                 offers=(o1.id, o2.id), counter=counter.id if counter else None,
                 ctype=ctype.id)


# --- actions: reads, `yield`, then the write ------------------------------------------

@dataclass(frozen=True)
class Act:
    name: str
    scenarios: tuple[str, ...]   # where it can start from (it succeeds there alone)
    steps: Callable[[World], Iterator[None]]
    sweep: bool                  # a background job: it skips what moved, never fails


ACTIONS: dict[str, Act] = {}


def action(*scenarios: str, sweep: bool = False):
    def register(fn):
        ACTIONS[fn.__name__] = Act(fn.__name__, scenarios, fn, sweep)
        return fn
    return register


def _firm(w: World) -> User:
    return db.session.get(User, w.owner)


def _tech(w: World, i: int) -> User:
    return db.session.get(TechnicianProfile, w.techs[i]).user


def _offer(w: World, i: int) -> Offer:
    """The offer as a request loads it, with what the services look at."""
    offer = db.session.get(Offer, w.offers[i])
    offer.assignment.assignee, offer.technician.user, offer.counteroffers  # noqa: B018
    return offer


def _job(w: World) -> Assignment:
    job = db.session.get(Assignment, w.job)
    job.assignee  # noqa: B018
    return job


def _counter(w: World) -> Counteroffer:
    counter = db.session.get(Counteroffer, w.counter)
    _offer(w, w.offers.index(counter.offer_id))
    return counter


@action("open", "countered", "rescheduling", "firm_countered")
def accept(w):
    """The first technician takes the work."""
    user, offer = _tech(w, 0), _offer(w, 0)
    yield
    offers.accept_offer(user, offer)


@action("applied")
def apply(w):
    """The second technician applies."""
    user, offer = _tech(w, 1), _offer(w, 1)
    yield
    offers.apply_to_offer(user, offer)


@action("applied")
def choose(w):
    """The firm picks the first technician's application."""
    owner, offer = _firm(w), _offer(w, 0)
    yield
    offers.choose_applicant(owner, offer)


@action(*UNTAKEN)
def decline(w):
    """The first technician declines (or withdraws an application)."""
    user, offer = _tech(w, 0), _offer(w, 0)
    yield
    offers.decline_offer(user, offer, "Booked elsewhere")


@action("open", "applied")
def counter_by_technician(w):
    """The second technician asks for more."""
    user, offer = _tech(w, 1), _offer(w, 1)
    yield
    offers.propose_counteroffer(user, offer, price_cents=25000)


@action("open", "applied", "countered", "rescheduling")
def counter_by_firm(w):
    """The firm offers the first technician less."""
    owner, offer = _firm(w), _offer(w, 0)
    yield
    offers.propose_counteroffer(owner, offer, price_cents=17000)


@action("countered")
def answer(w):
    """The firm agrees to the second technician's price."""
    owner, counter = _firm(w), _counter(w)
    yield
    offers.decide_counteroffer(owner, counter, True)


@action("countered", "rescheduling")
def reject(w):
    """The firm turns the second technician's counteroffer down."""
    owner, counter = _firm(w), _counter(w)
    yield
    offers.decide_counteroffer(owner, counter, False)


@action("rescheduling")
def reschedule(w):
    """The firm agrees to the second technician's new day: moved, then assigned."""
    owner, counter = _firm(w), _counter(w)
    yield
    offers.decide_counteroffer(owner, counter, True)


@action("firm_countered")
def agree(w):
    """The second technician takes the firm's lower price."""
    user, counter = _tech(w, 1), _counter(w)
    yield
    offers.decide_counteroffer(user, counter, True)


@action(*UNTAKEN)
def edit(w):
    """The firm moves the window onto the first technician's other job (sending the
    version it read, as the API does)."""
    owner, job = _firm(w), _job(w)
    data = find_assignments.form_data(job)
    data.update(address=ADDRESS, start_time="14:30", end_time="16:00")  # site-local
    version = job.version
    yield
    find_assignments.update_assignment(owner, job, data, expected_version=version)


@action(*UNTAKEN, "assigned")
def cancel(w):
    """The firm cancels, late: an assigned technician is owed the fee."""
    owner, job = _firm(w), _job(w)
    yield
    backfill.cancel_assignment(owner, job, "Customer postponed")


@action("assigned")
def back_out(w):
    user, job = _tech(w, 0), _job(w)
    yield
    backfill.back_out(user, job, "Truck broke down")


@action(*UNTAKEN, sweep=True)
def expire(w):
    """The expiry job runs after every offer's deadline."""
    yield
    offers.expire_offers(clock.now() + timedelta(days=3))


@action("assigned", sweep=True)
def offboard(w):
    """The verify sweep finds the first technician's required credential lapsed."""
    yield
    backfill.release_lapsed([(w.techs[0], w.ctype)], clock.today())


@action("open")
def reroute(w):
    """The firm re-routes the published work: apply-and-choose, a lower late fee."""
    owner, job = _firm(w), _job(w)
    job.firm  # noqa: B018
    yield
    routing.route_assignment(owner, job, mode=RoutingMode.APPLY_AND_CHOOSE,
                             cancellation_cutoff_hours=CUTOFF_HOURS,
                             cancellation_fee_cents=REROUTED_FEE,
                             stages=[routing.StagePlan(TargetKind.TECHNICIANS,
                                                       technician_ids=list(w.techs))])


def _pairs() -> list[tuple[str, str, str]]:
    found = []
    for a, b in combinations(ACTIONS.values(), 2):
        common = [s for s in SCENARIOS if s in a.scenarios and s in b.scenarios]
        if common:
            found.append((a.name, b.name, common[0]))
    return found


PAIRS = _pairs()


# --- the race -------------------------------------------------------------------------

def race(racer_app, world: World, acts: tuple[Act, Act], delays) -> dict[str, str]:
    """Both actions make their reads, meet at a barrier, then act and commit.
    Returns each action's outcome: "ok" or the exception's class (and message)."""
    barrier = threading.Barrier(len(acts))
    outcomes: dict[str, str] = {}

    def run(act: Act, delay: float) -> None:
        with racer_app.app_context():
            try:
                steps = act.steps(world)
                next(steps)
            except Exception as exc:  # noqa: BLE001 (any other exception is the finding)
                outcomes[act.name] = f"setup {exc.__class__.__name__}: {str(exc)[:160]}"
                barrier.abort()
                db.session.remove()
                return
            try:
                barrier.wait(timeout=30)
                time.sleep(delay)
                next(steps, None)
                db.session.commit()
                outcome = "ok"
            except FAILURES as exc:
                db.session.rollback()
                outcome = exc.__class__.__name__
            except Exception as exc:  # noqa: BLE001 (any other exception is the finding)
                db.session.rollback()
                outcome = f"{exc.__class__.__name__}: {str(exc)[:160]}"
            finally:
                db.session.remove()
            outcomes[act.name] = outcome

    threads = [threading.Thread(target=run, args=(act, delay)) for act, delay in zip(acts, delays)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def problems_with(w: World, outcomes: dict[str, str]) -> list[str]:
    """Everything wrong with the assignment, its offers and the technicians' bookings."""
    refusals = {e.__name__ for e in FAILURES}
    found = [f"{name} ended with {outcome}" for name, outcome in outcomes.items()
             if outcome != "ok" and (outcome not in refusals or ACTIONS[name].sweep)]
    if outcomes and "ok" not in outcomes.values():
        found.append("neither action succeeded")  # each succeeds alone: one must win
    job = db.session.get(Assignment, w.job)
    rows = list(db.session.scalars(select(Offer).where(Offer.assignment_id == job.id)))
    counters = list(db.session.scalars(select(Counteroffer).where(
        Counteroffer.offer_id.in_([o.id for o in rows]))))
    accepted = [o.technician_id for o in rows if o.status == OfferStatus.ACCEPTED]
    live = [o.status.value for o in rows if o.status in LIVE_OFFER_STATES]
    pending = [c.offer_id for c in counters if c.status == CounterStatus.PENDING]
    countered = [o.id for o in rows if o.status == OfferStatus.COUNTERED]
    if sorted(pending) != sorted(countered):
        found.append(f"pending counteroffers on offers {sorted(pending)} but countered "
                     f"offers {sorted(countered)}")
    if len(accepted) > 1:
        found.append(f"{len(accepted)} accepted offers")
    if job.status in BOOKED_STATES:
        if accepted != [job.assignee_id]:
            found.append(f"assigned to {job.assignee_id} but accepted offers of {accepted}")
        if live or pending:
            found.append(f"taken, yet live offers {live} and pending counteroffers {pending}")
    elif job.status == S.PUBLISHED:
        if job.assignee_id is not None or accepted:
            found.append(f"published with assignee {job.assignee_id}, accepted {accepted}")
    elif job.status == S.CANCELLED:
        if live or pending:
            found.append(f"cancelled, yet live offers {live} and pending counteroffers {pending}")
        record = db.session.scalar(select(Cancellation).where(Cancellation.assignment_id == job.id))
        holder = accepted[0] if accepted else None
        if job.assignee_id != holder:
            found.append(f"cancelled with assignee {job.assignee_id} and accepted offer of {holder}")
        if record is None:
            found.append("cancelled without a cancellation record")
        elif holder is not None:
            user_id = db.session.get(TechnicianProfile, holder).user_id
            told = db.session.scalar(select(Notification.id).where(
                Notification.user_id == user_id, Notification.kind == "assignment.cancelled"))
            if (record.technician_id, record.fee_cents, bool(told)) != (holder, LATE_FEE, True):
                found.append(f"cancelled after {holder} accepted, but the cancellation names "
                             f"{record.technician_id} with fee {record.fee_cents} "
                             f"(technician told: {bool(told)})")
        elif (record.technician_id, record.fee_cents) != (None, 0):
            found.append(f"cancelled untaken work, yet the cancellation names "
                         f"{record.technician_id} with fee {record.fee_cents}")
    engagement = db.session.get(Engagement, job.id)
    taken = job.status in BOOKED_STATES or (job.status == S.CANCELLED and accepted)
    if taken and engagement.cancellation_fee_cents != LATE_FEE:
        found.append(f"taken on a late fee of {LATE_FEE}, but the terms now say "
                     f"{engagement.cancellation_fee_cents} ({engagement.mode.value})")
    trail = db.session.execute(select(AuditEntry.id, AuditEntry.action, AuditEntry.after).where(
        AuditEntry.subject_type == "assignments", AuditEntry.subject_id == job.id)
        .order_by(AuditEntry.id)).all()
    ended = next((i for i, _, after in trail
                  if (after or {}).get("status") in (S.ASSIGNED.value, S.CANCELLED.value)), None)
    if ended is not None and any(i > ended and action == Action.ASSIGNMENT_ROUTED
                                 for i, action, _ in trail):
        found.append("routed again after it was taken or cancelled")
    for tid in w.techs:
        booked = list(db.session.scalars(select(Assignment).where(
            Assignment.assignee_id == tid, Assignment.status.in_(BOOKED_STATES))
            .order_by(Assignment.starts_at)))
        for first, second in pairwise(booked):
            if second.starts_at < first.ends_at:
                found.append(f"technician {tid} is booked on overlapping work "
                             f"{first.id} and {second.id}")
    return found


@pytest.fixture(scope="module")
def racers(backend_app):
    """The PostgreSQL app, and an app whose threads each get their own connection
    (NullPool). The rounds build fresh rows each time; the tables are emptied once,
    after the module, rather than after every pair."""
    if backend_app.config["BACKEND"] != "postgresql":
        pytest.skip("the races are run on PostgreSQL")
    racer_app = _threaded_app(backend_app)
    yield backend_app, racer_app
    clock.reset()
    _empty_all_tables(backend_app)


def test_every_action_succeeds_alone_from_each_scenario_it_claims(racers):
    """The table's claims, where the races run: otherwise a pair could pass with both
    sides always refused."""
    app, _ = racers
    failures = []
    with app.app_context():
        clock.travel_to(NOW)
        for act in ACTIONS.values():
            for scenario in act.scenarios:
                w = build(scenario, 0)
                steps = act.steps(w)
                try:
                    next(steps)
                    next(steps, None)
                    db.session.commit()
                except FAILURES as exc:
                    db.session.rollback()
                    failures.append(f"{act.name} from {scenario}: {exc!r}")
                    continue
                failures += [f"{act.name} from {scenario}: {p}" for p in problems_with(w, {})]
        db.session.remove()
    clock.reset()
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("first, second, scenario", PAIRS,
                         ids=[f"{a}-vs-{b}" for a, b, _ in PAIRS])
def test_racing_actions_leave_the_assignment_consistent(racers, first, second, scenario):
    app, racer_app = racers
    acts = (ACTIONS[first], ACTIONS[second])
    failures = []
    try:
        for n, delays in enumerate(ROUNDS):
            with app.app_context():
                clock.travel_to(NOW)
                world = build(scenario, n)
                db.session.remove()
            for _ in range(3):
                outcomes = race(racer_app, world, acts, delays)
                if not any(o.startswith("setup OperationalError") for o in outcomes.values()):
                    break
                time.sleep(2)  # the server is out of connections (other runs): nothing ran
            with app.app_context():
                found = problems_with(world, outcomes)
                db.session.remove()
            if found:
                failures.append(f"round {n} {delays} from {scenario!r}, {outcomes}: "
                                + "; ".join(found))
    finally:
        clock.reset()
        with racer_app.app_context():
            db.engine.dispose()
    assert not failures, "\n".join(failures)


def test_the_pair_table_covers_every_action():
    paired = {name for a, b, _ in PAIRS for name in (a, b)}
    assert paired == set(ACTIONS)
    assert ("accept", "edit", "open") in PAIRS and ("accept", "cancel", "open") in PAIRS
    assert ("accept", "reroute", "open") in PAIRS and ("cancel", "reroute", "open") in PAIRS


# --- the same rules, one step after another (both backends) ----------------------------

@pytest.fixture
def world(ctx):
    def make(scenario: str) -> World:
        clock.travel_to(NOW)
        return build(scenario, 0)
    return make


def _pending(offer_id: int) -> list[Counteroffer]:
    return list(db.session.scalars(select(Counteroffer).where(
        Counteroffer.offer_id == offer_id, Counteroffer.status == CounterStatus.PENDING)))


def test_the_firms_losing_counteroffer_is_withdrawn_when_another_technician_accepts(world):
    w = world("firm_countered")
    offers.accept_offer(db.session.get(TechnicianProfile, w.techs[0]).user,
                        db.session.get(Offer, w.offers[0]))
    db.session.commit()
    assert db.session.get(Offer, w.offers[1]).status == OfferStatus.CLOSED
    assert _pending(w.offers[1]) == []
    assert db.session.get(Counteroffer, w.counter).status == CounterStatus.WITHDRAWN
    assert problems_with(w, {}) == []


def test_cancelling_withdraws_the_counteroffers_waiting_on_it(world):
    w = world("countered")
    backfill.cancel_assignment(db.session.get(User, w.owner), db.session.get(Assignment, w.job),
                               "Customer postponed")
    db.session.commit()
    assert db.session.get(Counteroffer, w.counter).status == CounterStatus.WITHDRAWN
    assert problems_with(w, {}) == []


def test_declining_a_countered_offer_withdraws_its_counteroffer(world):
    w = world("countered")
    offers.decline_offer(db.session.get(TechnicianProfile, w.techs[1]).user,
                         db.session.get(Offer, w.offers[1]), "Found other work")
    db.session.commit()
    assert db.session.get(Offer, w.offers[1]).status == OfferStatus.DECLINED
    assert db.session.get(Counteroffer, w.counter).status == CounterStatus.WITHDRAWN
    assert problems_with(w, {}) == []


def test_an_edit_sent_with_a_version_that_is_not_a_number_is_a_field_error(world):
    w = world("open")
    job = db.session.get(Assignment, w.job)
    data = find_assignments.form_data(job) | {"address": ADDRESS}
    with pytest.raises(ValidationFailed) as err:
        find_assignments.update_assignment(db.session.get(User, w.owner), job, data,
                                           expected_version="latest")
    assert "version" in err.value.fields


# A request reads, another commits, then the first acts on what it read: deterministic,
# in one thread, with a session per request (an app context each).

def test_an_accept_read_before_the_window_moved_fails_instead_of_double_booking(app, world):
    w = world("open")
    with app.app_context():  # the technician's request has read the offer and the window
        user, offer = _tech(w, 0), _offer(w, 0)
        with app.app_context():  # meanwhile the firm moves it onto their other job
            steps = edit(w)
            next(steps)
            next(steps, None)
            db.session.commit()
        with pytest.raises(InvalidState) as refused:
            offers.accept_offer(user, offer)
        db.session.rollback()
    assert refused.value.code == "stale_version"
    assert problems_with(w, {}) == []


def test_a_cancel_read_before_the_assignee_changed_fails_rather_than_bill_the_wrong_one(app,
                                                                                       world):
    w = world("assigned")
    with app.app_context():  # the firm's request has read the work: the first technician's
        owner, job = _firm(w), _job(w)
        with app.app_context():  # meanwhile the first backs out and the second takes it
            backfill.back_out(_tech(w, 0), _job(w), "Truck broke down")
            offers.send_offers(_job(w), [w.techs[1]])
            offers.accept_offer(_tech(w, 1), _offer(w, 1))
            db.session.commit()
        with pytest.raises(InvalidState) as refused:
            backfill.cancel_assignment(owner, job, "Customer postponed")
        db.session.rollback()
        record = backfill.cancel_assignment(owner, _job(w), "Customer postponed")  # re-read
        db.session.commit()
        assert (record.technician_id, record.fee_cents) == (w.techs[1], LATE_FEE)
    assert refused.value.code == "stale_version"
    assert problems_with(w, {}) == []


def test_a_marketplace_application_read_before_the_firm_chose_opens_no_offer(app, world):
    w = world("applied")
    third = tech_at(DALLAS[0] + 0.02, DALLAS[1])
    give_credential(third, db.session.get(CredentialType, w.ctype))
    db.session.get(Engagement, w.job).open_to_marketplace = True
    db.session.commit()
    with app.app_context():  # the third technician's request has read the open work
        user, job = db.session.get(TechnicianProfile, third.id).user, _job(w)
        with app.app_context():  # meanwhile the firm chooses the first applicant
            offers.choose_applicant(_firm(w), _offer(w, 0))
            db.session.commit()
        with pytest.raises(InvalidState):
            respond_from_marketplace(user, job)
        db.session.rollback()
    assert problems_with(w, {}) == []
