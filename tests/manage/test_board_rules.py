"""The board judges its flags in SQL; they must be what the rules they restate say:
`arrival.state_of` (no-show, late), `sla.clocks` (missed or breached; at risk), an open
visit checked in outside the fence, unfilled work near its start. Hundreds of jobs built
around the rules' edges (to the microsecond) are judged both ways, with the firm's own
settings and with the defaults, on each database; the rows come in the order of the
first rule each breaks, then by start."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest

from marketplace.core import clock
from marketplace.engage.models import Offer, OfferStatus
from marketplace.extensions import db
from marketplace.find.lifecycle import AssignmentStatus as S
from marketplace.find.models import Assignment, ScheduleKind
from marketplace.manage import arrival, board, sla
from marketplace.manage.geofence import DEFAULTS
from marketplace.manage.models import Arrival, Geofence, ManageSettings, Visit, WorkRecord
from tests import factories
from tests.find.helpers import DALLAS

NOW = datetime(2030, 6, 3, 16, 0, 0, 250_000, tzinfo=timezone.utc)   # 11:00 in Chicago
US = timedelta(microseconds=1)
MIN = timedelta(minutes=1)
TARGETS = (None, None, 15, 30, 240)


def reference_flags(a: Assignment, record, open_visit, accepted_at, settings) -> list[str]:
    """The rules as the functions that hold them judge one job."""
    flags = []
    state = arrival.state_of(a, record, NOW, settings)
    if state:
        flags.append(state)
    if open_visit is not None and open_visit.checkin_geofence != Geofence.INSIDE:
        flags.append("off_site")
    if a.status == S.PUBLISHED and a.starts_at - NOW < board.NEAR_START:
        flags.append("unfilled_soon")
    clocks = sla.clocks(a, record, accepted_at, NOW, settings)
    if any(c.state in ("breached", "missed") for c in clocks):
        flags.append("sla_breached")
    elif any(c.state == "at_risk" for c in clocks):
        flags.append("sla_at_risk")
    return flags


class World:
    """Jobs of one firm around the rules' edges, and what the reference says of each."""

    def __init__(self, settings: ManageSettings, seed: int):
        self.rng = random.Random(seed)
        self.settings = settings
        self.owner = factories.firm_user()
        self.techs = [factories.technician().technician for _ in range(3)]
        self.expected: dict[int, list[str]] = {}
        self.starts: dict[int, datetime] = {}

    def near(self, *instants: datetime) -> datetime:
        """One of `instants`, exactly or a microsecond either side, or a minute off."""
        return self.rng.choice(instants) + self.rng.choice((-US, 0 * US, US, -MIN, MIN))

    def job(self, **fixed) -> None:
        rng = self.rng
        late = timedelta(minutes=self.settings.late_minutes)
        warn = timedelta(minutes=self.settings.sla_warning_minutes)
        m = {k: fixed.pop(k, rng.choice(TARGETS)) for k in ("resp", "arr", "comp")}
        status = fixed.pop("status", rng.choice(board.SHOWN))
        kind = fixed.pop("kind", rng.choice((ScheduleKind.WINDOW, ScheduleKind.WINDOW,
                                             ScheduleKind.FLEXIBLE)))
        # Starts where a rule turns: the late deadline, the near-start line, the arrival
        # clock's due time and its warning; or anywhere in the board's week.
        edges = [NOW - late, NOW + board.NEAR_START,
                 NOW + timedelta(minutes=rng.randint(-600, 5 * 24 * 60))]
        if m["arr"]:
            edges += [NOW - timedelta(minutes=m["arr"]),
                      NOW - timedelta(minutes=m["arr"]) + warn]
        starts = fixed.pop("starts_at", self.near(*edges))
        ends = starts + timedelta(hours=rng.choice((1, 2, 8)))
        if m["comp"] and rng.random() < 0.6:
            due_end = NOW - timedelta(minutes=m["comp"])
            ends = max(self.near(due_end, due_end + warn), starts + MIN)
        published = None if rng.random() < 0.1 else NOW - timedelta(hours=rng.randint(1, 72))
        if m["resp"] and published and rng.random() < 0.7:
            due_resp = NOW - timedelta(minutes=m["resp"])
            published = self.near(due_resp, due_resp + warn)
        assignee = None if status == S.PUBLISHED and rng.random() < 0.8 else rng.choice(self.techs)
        a = Assignment(firm_id=self.owner.firm.id, created_by_id=self.owner.id,
                       title=f"Job {len(self.expected)}", address="Main St, Dallas, TX",
                       lat=DALLAS[0], lon=DALLAS[1], timezone="America/Chicago",
                       schedule_kind=kind, starts_at=starts, ends_at=ends,
                       rate_cents=20000, budget_cents=20000, status=status,
                       assignee_id=assignee.id if assignee else None, published_at=published,
                       sla_response_minutes=m["resp"], sla_arrival_minutes=m["arr"],
                       sla_completion_minutes=m["comp"])
        db.session.add(a)
        db.session.flush()
        record = self._record(a, m, fixed.pop("record", rng.random() < 0.6))
        open_visit = self._visits(a, fixed.pop("visit", rng.choice(
            (None, None, Geofence.INSIDE, Geofence.OUTSIDE, Geofence.UNVERIFIED))))
        accepted_at = self._offers(a, m, published)
        assert not fixed, fixed
        self.expected[a.id] = reference_flags(a, record, open_visit, accepted_at,
                                              self.settings)
        self.starts[a.id] = starts

    def _record(self, a, m, wanted: bool) -> WorkRecord | None:
        if not wanted:
            return None
        rng = self.rng
        due_arr = a.starts_at + timedelta(minutes=m["arr"] or 30)
        due_end = a.ends_at + timedelta(minutes=m["comp"] or 60)
        checkin = rng.choice((None, self.near(due_arr, a.starts_at)))
        record = WorkRecord(
            assignment_id=a.id, technician_id=self.techs[0].id,
            arrival=rng.choice((None, Arrival.ON_TIME, Arrival.LATE, Arrival.NO_SHOW)),
            first_checkin_at=checkin,
            no_show_at=rng.choice((None, None, self.near(a.ends_at))),
            submitted_at=rng.choice((None, self.near(due_end))))
        db.session.add(record)
        return record

    def _visits(self, a, fence: Geofence | None) -> Visit | None:
        tech = self.techs[0].id
        if self.rng.random() < 0.3:     # a visit already checked out counts for nothing
            db.session.add(Visit(assignment_id=a.id, technician_id=tech, number=1,
                                 checkin_at=NOW - timedelta(hours=5),
                                 checkin_geofence=Geofence.OUTSIDE,
                                 checkout_at=NOW - timedelta(hours=4)))
        if fence is None:
            return None
        visit = Visit(assignment_id=a.id, technician_id=tech, number=2,
                      checkin_at=NOW - timedelta(hours=1), checkin_geofence=fence,
                      checkin_lat=DALLAS[0] + 0.001, checkin_lon=DALLAS[1])
        db.session.add(visit)
        return visit

    def _offers(self, a, m, published) -> datetime | None:
        """Accepted offers (the latest answer ends the response clock) and a declined one."""
        rng = self.rng
        due = (published or NOW) + timedelta(minutes=m["resp"] or 60)
        accepted = []
        for tech, status in zip(self.techs, rng.choice((
                (), (OfferStatus.ACCEPTED,), (OfferStatus.DECLINED, OfferStatus.ACCEPTED),
                (OfferStatus.ACCEPTED, OfferStatus.ACCEPTED)))):
            at = self.near(due) if status == OfferStatus.ACCEPTED else due + timedelta(hours=9)
            db.session.add(Offer(assignment_id=a.id, technician_id=tech.id, status=status,
                                 price_cents=20000, expires_at=NOW + timedelta(days=1),
                                 responded_at=at))
            if status == OfferStatus.ACCEPTED:
                accepted.append(at)
        return max(accepted, default=None)


@pytest.mark.parametrize("own_settings", [False, True], ids=["defaults", "firm settings"])
def test_the_boards_sql_flags_are_the_rules_of_arrival_and_sla(app, ctx, own_settings):
    clock.travel_to(NOW, freeze=True)
    settings = ManageSettings(early_minutes=30, late_minutes=20, geofence_m=150,
                              sla_warning_minutes=45) if own_settings else DEFAULTS
    world = World(settings, seed=14 + own_settings)
    if own_settings:
        settings.firm_id = world.owner.firm.id
        db.session.add(settings)
    # The edges by hand: late by a microsecond or not, flexible never late by the clock,
    # a checked-in job not late, unfilled by a microsecond or not.
    late = timedelta(minutes=settings.late_minutes)
    for starts in (NOW - late - US, NOW - late, NOW - late + US):
        world.job(status=S.ASSIGNED, kind=ScheduleKind.WINDOW, starts_at=starts,
                  record=False, visit=None, resp=None, arr=None, comp=None)
    world.job(status=S.ASSIGNED, kind=ScheduleKind.FLEXIBLE, starts_at=NOW - 2 * late,
              record=False, visit=None, resp=None, arr=None, comp=None)
    for starts in (NOW + board.NEAR_START - US, NOW + board.NEAR_START):
        world.job(status=S.PUBLISHED, starts_at=starts, record=False, visit=None,
                  resp=None, arr=None, comp=None)
    for _ in range(300):
        world.job()
    db.session.commit()

    rows = board.rows_for(world.owner.firm.id, "America/Chicago", NOW)

    got = {r.assignment.id: r.flags for r in rows}
    assert set(got) == set(world.expected)
    wrong = {i: (got[i], world.expected[i]) for i in got if got[i] != world.expected[i]}
    assert wrong == {}, f"SQL flags differ from the rules (got, expected): {wrong}"
    rank = {f: i for i, f in enumerate(board.FLAG_ORDER)}
    assert [r.assignment.id for r in rows] == sorted(world.expected, key=lambda i: (
        min((rank[f] for f in world.expected[i]), default=len(rank)), world.starts[i], i))
    # The jobs reach every rule, on both sides of each edge written by hand.
    seen = {f for flags in world.expected.values() for f in flags}
    assert seen == set(board.FLAG_ORDER)
    assert [got[i] for i in sorted(got)[:6]] == [["late"], [], [], [], ["unfilled_soon"], []]
