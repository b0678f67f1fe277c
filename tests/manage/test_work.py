"""Check-in to approval: arrival, visits, tasks and proof, submission, review, expenses."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image
from sqlalchemy import func, select

from marketplace.accounts.models import Role
from marketplace.core import clock
from marketplace.core.signals import assignment_approved, subscribe
from marketplace.core.uploads import Upload
from marketplace.errors import InvalidState, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.find.models import AssignmentStatus as S
from marketplace.find.models import Pricing
from marketplace.integrations import storage
from marketplace.manage import arrival, changes, proof, review, sync, visits
from marketplace.manage.geofence import Fix
from marketplace.manage.models import Arrival, Geofence, Visit, WorkRecord
from marketplace.notifications.models import Notification
from tests import factories
from tests.manage.helpers import at_site, taken_work


def _fix(job, north_m=0.0, accuracy=10.0):
    return Fix.parse(at_site(job, accuracy, north_m), default_time=clock.now())


def png(size=(40, 30), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (10, 120, 200))
    exif = Image.Exif()
    gps = {1: "N", 2: (32.0, 46.0, 36.0), 3: "W", 4: (96.0, 47.0, 49.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _complete_tasks(tech, job):
    at = clock.now()
    proof.answer_task(tech.user, job, "ground", {"done": True}, at=at)
    proof.answer_task(tech.user, job, "level", {"number": -48}, at=at)
    proof.answer_task(tech.user, job, "result", {"choice": "Pass"}, at=at)
    for n in range(2):
        proof.add_proof(tech.user, job, "photos", Upload(f"rack{n}.png", png()), at=at)
    proof.add_proof(tech.user, job, "sign", Upload("sig.png", png()), at=at,
                    signer_name="Pat Customer")


@pytest.mark.parametrize("minutes,expected", [(-45, Arrival.ON_TIME), (-30, Arrival.ON_TIME),
                                              (15, Arrival.ON_TIME), (16, Arrival.LATE)])
def test_arrival_on_time_or_late_by_the_window_start(app, ctx, minutes, expected):
    owner, tech, job = taken_work()
    clock.travel_to(job.starts_at + timedelta(minutes=minutes), freeze=True)
    visits.check_in(tech.user, job, at=clock.now(), fix=_fix(job))
    db.session.commit()
    assert db.session.get(WorkRecord, job.id).arrival == expected
    assert job.status == S.IN_PROGRESS


def test_arrival_across_timezones_and_a_dst_change(app, ctx):
    """09:00 in Los Angeles on the day clocks go back (2030-11-03) is 17:00 UTC, not 16:00."""
    start = datetime(2030, 11, 3, 17, 0, tzinfo=timezone.utc)
    owner, tech, job = taken_work(starts_at=start, tz="America/Los_Angeles")
    clock.travel_to(datetime(2030, 11, 3, 17, 10, tzinfo=timezone.utc))  # 09:10 PST
    visits.check_in(tech.user, job, at=clock.now(), fix=_fix(job))
    assert db.session.get(WorkRecord, job.id).arrival == Arrival.ON_TIME
    owner2, tech2, job2 = taken_work(starts_at=start, tz="America/Los_Angeles")
    clock.travel_to(datetime(2030, 11, 3, 17, 16, tzinfo=timezone.utc))  # 09:16 PST
    visits.check_in(tech2.user, job2, at=clock.now(), fix=_fix(job2))
    assert db.session.get(WorkRecord, job2.id).arrival == Arrival.LATE


def test_outside_or_unverified_check_in_is_flagged_not_blocked(app, ctx):
    owner, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    visit = visits.check_in(tech.user, job, at=clock.now(), fix=_fix(job, north_m=900),
                            reason="Parked at the loading dock")
    assert visit.checkin_geofence == Geofence.OUTSIDE and 890 <= visit.checkin_distance_m <= 910
    assert visit.checkin_reason == "Parked at the loading dock"
    clock.advance(timedelta(minutes=5))
    visits.check_out(tech.user, job, at=clock.now(), fix=None)
    clock.advance(timedelta(minutes=5))
    second = visits.check_in(tech.user, job, at=clock.now(), fix=None)
    assert second.checkin_geofence == Geofence.UNVERIFIED and second.number == 2


def test_several_visits_and_time_on_site_is_derived(app, ctx):
    owner, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    t0 = clock.now()
    visits.check_in(tech.user, job, at=t0, fix=_fix(job))
    with pytest.raises(InvalidState):
        visits.check_in(tech.user, job, at=t0 + timedelta(minutes=1), fix=_fix(job))
    clock.travel_to(t0 + timedelta(minutes=90), freeze=True)
    visits.check_out(tech.user, job, at=clock.now(), fix=_fix(job))
    clock.travel_to(t0 + timedelta(days=1), freeze=True)
    visits.check_in(tech.user, job, at=clock.now(), fix=_fix(job))
    clock.travel_to(t0 + timedelta(days=1, minutes=30), freeze=True)
    visits.check_out(tech.user, job, at=clock.now(), fix=_fix(job))
    db.session.commit()
    assert visits.seconds_on_site(job.id) == 120 * 60
    assert [v.number for v in visits.visits_of(job)] == [1, 2]


def test_a_recorded_time_in_the_future_or_before_acceptance_is_refused(app, ctx):
    owner, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    with pytest.raises(ValidationFailed) as future:
        visits.check_in(tech.user, job, at=clock.now() + timedelta(minutes=10), fix=None)
    assert "future" in future.value.fields["recorded_at"]
    with pytest.raises(ValidationFailed) as before:
        visits.check_in(tech.user, job, at=job.starts_at - timedelta(days=5), fix=None)
    assert "before you accepted" in before.value.fields["recorded_at"]
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 0


def test_only_the_assignee_checks_in(app, ctx):
    owner, tech, job = taken_work()
    other = factories.technician()
    clock.travel_to(job.starts_at, freeze=True)
    with pytest.raises(PermissionDenied):
        visits.check_in(other, job, at=clock.now(), fix=None)


def test_required_tasks_block_submission_with_the_list_of_what_is_missing(app, ctx):
    owner, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    visits.check_in(tech.user, job, at=clock.now(), fix=_fix(job))
    proof.answer_task(tech.user, job, "ground", {"done": True}, at=clock.now())
    proof.add_proof(tech.user, job, "photos", Upload("one.png", png()), at=clock.now())
    visits.check_out(tech.user, job, at=clock.now(), fix=_fix(job))
    with pytest.raises(ValidationFailed) as missing:
        review.submit(tech.user, job, "done")
    message = missing.value.fields["tasks"]
    assert "Photos of the rack" in message and "Signal level" in message
    assert "Certification" in message and "Customer sign-off" in message
    assert "Rack grounded" not in message and "Notes" not in message
    assert job.status == S.IN_PROGRESS


def test_task_values_are_checked_by_kind(app, ctx):
    owner, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    with pytest.raises(InvalidState):  # not checked in yet
        proof.answer_task(tech.user, job, "ground", {"done": True}, at=clock.now())
    visits.check_in(tech.user, job, at=clock.now(), fix=_fix(job))
    for key, value in [("level", {"number": -10}), ("level", {"number": "abc"}),
                       ("result", {"choice": "Maybe"}), ("ground", {"done": False}),
                       ("photos", {"done": True}), ("nope", {"done": True})]:
        with pytest.raises(ValidationFailed):
            proof.answer_task(tech.user, job, key, value, at=clock.now())
    with pytest.raises(ValidationFailed):  # a signature needs the signer's name
        proof.add_proof(tech.user, job, "sign", Upload("s.png", png()), at=clock.now())


def test_photos_reach_the_firm_without_exif_gps_and_keep_the_recorded_position(app, ctx):
    owner, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    visits.check_in(tech.user, job, at=clock.now(), fix=_fix(job))
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get(0x8825)  # the fixture has GPS
    item = proof.add_proof(tech.user, job, "photos", Upload("IMG_1.jpg", original),
                           at=clock.now(), lat=job.lat, lon=job.lon)
    db.session.commit()
    stored = storage.load(item.storage_key)
    image = Image.open(io.BytesIO(stored))
    assert not image.getexif(), "EXIF (and its GPS) must be gone"
    assert b"Exif" not in stored[:4096]
    assert Image.open(io.BytesIO(storage.load(item.thumb_key))).size[0] <= 320
    assert (item.lat, item.lon) == (job.lat, job.lon) and item.captured_at == clock.now()


def test_submit_then_approve_announces_the_final_amounts(app, ctx):
    owner, tech, job = taken_work(pricing_kw={"pricing": Pricing.HOURLY,
                                              "hourly_rate_cents": 6000, "max_hours": 4,
                                              "budget_cents": 24000, "rate_cents": 0})
    heard = []
    subscribe(app, assignment_approved, lambda sender, **kw: heard.append((sender.id, kw)))
    clock.travel_to(job.starts_at, freeze=True)
    visits.check_in(tech.user, job, at=clock.now(), fix=_fix(job))
    _complete_tasks(tech, job)
    change = changes.request_change(tech.user, job, kind="expense", amount="25.50",
                                    category="parts", reason="Patch cables")
    changes.decide_change(owner, change, True)
    clock.advance(timedelta(minutes=150))
    visits.check_out(tech.user, job, at=clock.now(), fix=_fix(job))
    review.submit(tech.user, job, "Rack done")
    assert job.status == S.SUBMITTED
    owed = review.approve(owner, job)
    db.session.commit()
    assert job.status == S.APPROVED
    # 2.5 h at $60 = $150.00; expenses $25.50.
    assert (owed.labour_cents, owed.expenses_cents, owed.total_cents) == (15000, 2550, 17550)
    assert heard[-1][0] == job.id and heard[-1][1]["amounts"]["total_cents"] == 17550
    with pytest.raises(InvalidState):
        review.approve(owner, job)


def test_send_back_counts_a_revisit_and_reopens_the_work(app, ctx):
    owner, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    visits.check_in(tech.user, job, at=clock.now(), fix=_fix(job))
    _complete_tasks(tech, job)
    visits.check_out(tech.user, job, at=clock.now(), fix=_fix(job))
    review.submit(tech.user, job)
    with pytest.raises(ValidationFailed):
        review.send_back(owner, job, "")
    record = review.send_back(owner, job, "Label the patch panel")
    assert job.status == S.IN_PROGRESS and record.revisits == 1
    clock.travel_to(clock.now() + timedelta(hours=20))
    visits.check_in(tech.user, job, at=clock.now(), fix=_fix(job))
    visits.check_out(tech.user, job, at=clock.now(), fix=_fix(job))
    review.submit(tech.user, job)
    db.session.commit()
    assert db.session.get(WorkRecord, job.id).revisits == 1
    notes = db.session.scalars(select(Notification.kind).where(
        Notification.user_id == tech.user.id)).all()
    assert "work.revisit" in notes


def test_a_dispatcher_cannot_approve_an_expense_past_their_budget_limit(app, ctx):
    owner, tech, job = taken_work()
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.firm)
    dispatcher.membership.budget_limit_cents = 25000
    db.session.commit()
    clock.travel_to(job.starts_at, freeze=True)
    visits.check_in(tech.user, job, at=clock.now(), fix=_fix(job))
    big = changes.request_change(tech.user, job, kind="expense", amount=6000, category="parts",
                                 reason="Switch")
    with pytest.raises(PermissionDenied):  # $200 agreed + $60 > $250
        changes.decide_change(dispatcher, big, True)
    small = changes.request_change(tech.user, job, kind="expense", amount=4000,
                                   category="parts", reason="Cables")
    changes.decide_change(dispatcher, small, True)
    with pytest.raises(InvalidState):
        changes.decide_change(owner, small, False, "changed my mind")


def test_no_show_sweep_marks_once_alerts_and_is_idempotent(app, ctx):
    owner, tech, job = taken_work()
    clock.travel_to(job.ends_at - timedelta(minutes=1))
    assert arrival.sweep().no_shows == []
    clock.travel_to(job.ends_at + timedelta(minutes=1))
    assert arrival.sweep().no_shows == [job.id]
    assert arrival.sweep().no_shows == []
    db.session.commit()
    record = db.session.get(WorkRecord, job.id)
    assert record.arrival == Arrival.NO_SHOW and record.no_show_at is not None
    kinds = db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "work.no_show")).all()
    assert sorted(kinds) == sorted([owner.id, tech.user.id])


def test_a_no_show_is_rerouted_to_a_new_window(app, ctx):
    owner, tech, job = taken_work()
    clock.travel_to(job.ends_at + timedelta(minutes=1))
    arrival.sweep()
    new_start = job.starts_at + timedelta(days=2)
    arrival.reroute_no_show(owner, job, new_start, new_start + timedelta(hours=2))
    db.session.commit()
    assert job.status == S.PUBLISHED and job.assignee_id is None
    assert job.starts_at == new_start


def test_replayed_actions_apply_once_and_return_the_first_result(app, ctx):
    owner, tech, job = taken_work()
    clock.travel_to(job.starts_at, freeze=True)
    queue = [
        {"key": "k-checkin-0001", "action": "check_in", "assignment_id": job.id,
         "recorded_at": (clock.now() - timedelta(minutes=10)).isoformat(),
         "data": {"position": {**at_site(job), "taken_at": None}}},
        {"key": "k-answer-00001", "action": "answer", "assignment_id": job.id,
         "recorded_at": (clock.now() - timedelta(minutes=5)).isoformat(),
         "data": {"task": "level", "value": {"number": -50}}},
        {"key": "k-future-00001", "action": "answer", "assignment_id": job.id,
         "recorded_at": (clock.now() + timedelta(hours=3)).isoformat(),
         "data": {"task": "ground", "value": {"done": True}}},
    ]
    first = sync.apply_batch(tech.user, queue)
    second = sync.apply_batch(tech.user, queue)
    db.session.commit()
    assert [o.status for o in first] == [201, 200, 422]
    assert [o.duplicate for o in second] == [True, True, True]
    assert [o.result for o in second] == [o.result for o in first]
    assert db.session.scalar(select(func.count()).select_from(Visit)) == 1
    visit = db.session.scalar(select(Visit))
    assert visit.checkin_at == clock.now() - timedelta(minutes=10)  # the recorded time
    assert visit.checkin_geofence == Geofence.INSIDE
    assert "future" in first[2].result["error"]["fields"]["recorded_at"]
    reused = sync.apply(tech.user, {**queue[0], "action": "check_out"})
    assert reused.status == 422 and "another action" in reused.result["error"]["message"]
