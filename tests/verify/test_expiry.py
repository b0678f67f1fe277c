"""The expiry sweep: reminders once, expiry, suspension, reinstatement, concurrency."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from marketplace.core import clock, signals
from marketplace.accounts.models import TechnicianStatus
from marketplace.extensions import db
from marketplace.notifications.models import Notification
from marketplace.verify import compliance, submissions
from marketplace.verify.expiry import run_sweep
from marketplace.verify.models import Credential, CredentialStatus, RequirementItem, RequirementSet
from tests import factories
from tests.verify.helpers import approved, ctype

DAY = date(2026, 3, 1)


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def _at(day: date) -> None:
    clock.travel_to(datetime(day.year, day.month, day.day, 6, tzinfo=timezone.utc), freeze=True)


@pytest.fixture
def insured(ctx):
    _at(DAY)
    tech = factories.technician()
    t = ctype()
    cred = approved(tech, t, DAY + timedelta(days=30))
    return tech, t, cred


def test_reminders_go_out_at_30_7_and_1_days_once_each(app, insured):
    tech, t, cred = insured
    for offset in range(0, 31):
        day = DAY + timedelta(days=offset)
        _at(day)
        run_sweep(day)
        run_sweep(day)  # a second run the same day sends nothing more
        db.session.commit()
    keys = sorted(db.session.scalars(select(Notification.dedupe_key).where(
        Notification.kind == "credential.expiring")))
    assert keys == sorted(f"cred-expiry-{d}-{cred.id}" for d in (30, 7, 1))


def test_expired_insurance_is_marked_and_technician_told_why(app, insured):
    tech, t, cred = insured
    day = DAY + timedelta(days=31)
    _at(day)
    result = run_sweep(day)
    db.session.commit()
    assert result.expired == 1
    db.session.refresh(cred)
    assert cred.status == CredentialStatus.EXPIRED
    note = db.session.scalars(select(Notification).where(
        Notification.kind == "credential.expired")).one()
    assert "removed from talent pools" in note.body


def test_running_the_sweep_twice_changes_nothing_the_second_time(app, insured):
    day = DAY + timedelta(days=31)
    _at(day)
    first = run_sweep(day)
    db.session.commit()
    notices = _count(Notification)
    second = run_sweep(day)
    db.session.commit()
    assert first.changes > 0 and second.changes == 0
    # The lapse notice carries no dedupe key: the conditional UPDATE alone keeps it single.
    assert _count(Notification) == notices
    assert _count(Notification, Notification.kind == "credential.expired") == 1


def test_sweep_emits_credentials_lapsed_inside_the_transaction(app, insured):
    tech, t, cred = insured
    seen = []

    def receiver(sender, pairs, on):
        # Inside the transaction: the expiry is visible to this session already.
        seen.append((pairs, on, db.session.get(Credential, cred.id).status))

    signals.credentials_lapsed.connect(receiver)
    try:
        day = DAY + timedelta(days=31)
        run_sweep(day)
    finally:
        signals.credentials_lapsed.disconnect(receiver)
    assert seen == [([(tech.technician.id, t.id)], day, CredentialStatus.EXPIRED)]


def test_technician_with_no_valid_credential_left_is_suspended_and_reinstated_on_renewal(
        app, insured):
    tech, t, cred = insured
    admin = factories.admin()
    day = DAY + timedelta(days=31)
    _at(day)
    assert run_sweep(day).suspended == 1
    db.session.commit()
    profile = tech.technician
    db.session.refresh(profile)
    assert profile.status == TechnicianStatus.SUSPENDED
    approvals = []
    signals.credential_approved.connect(lambda s, **kw: approvals.append(kw), weak=False)
    renewal = submissions.submit_credential(tech, credential_type_id=t.id, coverage_cents=1,
                                            expires_on=day + timedelta(days=365))
    submissions.approve(admin, renewal)
    db.session.commit()
    db.session.refresh(profile)
    assert profile.status == TechnicianStatus.ACTIVE
    assert approvals[-1] == {"technician_id": profile.id, "credential_type_id": t.id}
    db.session.refresh(cred)
    assert cred.status == CredentialStatus.SUPERSEDED


def test_sweep_suspension_is_audited_and_leaves_the_match_index(app, ctx):
    from marketplace.core.audit import AuditEntry
    from marketplace.find.models import MatchIndexRow
    from marketplace.core.signals import technician_changed
    _at(DAY)
    t = ctype()
    techs = [factories.technician() for _ in range(3)]
    for tech in techs:
        approved(tech, t, DAY + timedelta(days=3))
        technician_changed.send(tech.technician.id)
    keeper = techs[0]
    approved(keeper, ctype("OSHA 10", expires=False), None)
    db.session.commit()
    ids = [tech.technician.id for tech in techs]
    assert _count(MatchIndexRow, MatchIndexRow.technician_id.in_(ids)) >= 3
    day = DAY + timedelta(days=4)
    _at(day)
    assert run_sweep(day).suspended == 2
    db.session.commit()
    gone = ids[1:]
    assert _count(MatchIndexRow, MatchIndexRow.technician_id.in_(gone)) == 0
    assert _count(MatchIndexRow, MatchIndexRow.technician_id == ids[0]) >= 1
    rows = db.session.scalars(select(AuditEntry).where(
        AuditEntry.action == "technician.status_changed")).all()
    assert sorted(r.subject_id for r in rows) == gone
    assert {(r.subject_type, r.before["status"], r.after["status"]) for r in rows} == {
        ("technicians", "active", "suspended")}
    assert all(r.after["reason"] == submissions.SUSPENDED_REASON for r in rows)
    assert techs[1].technician.status == TechnicianStatus.SUSPENDED  # loaded objects refresh


def test_technician_keeping_another_valid_credential_is_not_suspended(app, insured):
    tech, t, cred = insured
    other = ctype("OSHA 10", expires=False)
    approved(tech, other, None)
    day = DAY + timedelta(days=31)
    result = run_sweep(day)
    db.session.commit()
    assert result.expired == 1 and result.suspended == 0


def test_compliance_explains_an_expired_credential(app, insured):
    tech, t, cred = insured
    rset = RequirementSet(name="Retail", items=[RequirementItem(credential_type_id=t.id)])
    db.session.add(rset)
    db.session.commit()
    day = DAY + timedelta(days=31)
    assert compliance.check(tech.technician.id, rset.id, DAY).compliant
    run_sweep(day)
    db.session.commit()
    result = compliance.check(tech.technician.id, rset.id, day)
    assert not result.compliant
    assert result.failures == [f"General liability insurance expired {cred.expires_on.isoformat()}."]


def test_a_year_of_simulated_expiries(app, ctx):
    start = date(2026, 1, 1)
    _at(start)
    t = ctype()
    techs = [factories.technician() for _ in range(12)]
    for month, tech in enumerate(techs):
        approved(tech, t, date(2026, month + 1, 15))
    for offset in range(366):
        day = start + timedelta(days=offset)
        _at(day)
        run_sweep(day)
        db.session.commit()
        expired = _count(Credential, Credential.status == CredentialStatus.EXPIRED)
        # Credentials valid through the 15th expire on the 16th, one per month.
        months_past = sum(1 for m in range(1, 13) if day > date(2026, m, 15))
        assert expired == months_past, day
    # Three reminders each, except January's 30-day one (due before the year began).
    assert _count(Notification, Notification.kind == "credential.expiring") == 35
    assert _count(Notification, Notification.kind == "credential.expired") == 12


def test_cli_command_runs_the_sweep(app, insured):
    day = DAY + timedelta(days=31)
    result = app.test_cli_runner().invoke(args=["verify", "sweep", "--on", day.isoformat()])
    assert result.exit_code == 0, result.output
    assert "1 expired" in result.output
    assert _count(Credential, Credential.status == CredentialStatus.EXPIRED) == 1


def test_celery_task_and_beat_entry(app, insured):
    from marketplace.extensions import celery
    from marketplace.verify.tasks import sweep
    assert celery.conf.beat_schedule["verify-sweep-daily"]["task"] == sweep.name
    out = sweep.delay((DAY + timedelta(days=31)).isoformat()).get(timeout=10)
    assert out["expired"] == 1


def test_admin_button_runs_the_sweep_only_once_confirmed(app, insured, client, auth):
    admin = factories.admin()
    _at(DAY + timedelta(days=31))
    auth.login(admin.email)
    queue = client.get("/verify/review").get_data(True)
    assert 'href="/verify/sweep"' in queue and 'action="/verify/sweep"' not in queue
    confirm = client.get("/verify/sweep").get_data(True)
    assert "Run the expiry sweep now?" in confirm and 'name="confirm"' in confirm
    unconfirmed = client.post("/verify/sweep")
    assert unconfirmed.status_code == 200
    assert "Tick the box to confirm" in unconfirmed.get_data(True)
    assert _count(Credential, Credential.status == CredentialStatus.EXPIRED) == 0
    response = client.post("/verify/sweep", data={"confirm": "y"}, follow_redirects=True)
    assert "Sweep done: 0 reminders, 1 expired, 1 suspended." in response.get_data(True)
    assert _count(Credential, Credential.status == CredentialStatus.EXPIRED) == 1


def test_two_sweeps_in_parallel_on_postgresql_equal_one(app, ctx):
    if app.config["BACKEND"] != "postgresql":
        pytest.skip("row-lock behaviour is a PostgreSQL property")
    _at(DAY)
    t = ctype()
    techs = [factories.technician() for _ in range(30)]
    for i, tech in enumerate(techs):
        # A third already lapsed, a third due a 7-day reminder, a third a 30-day one.
        approved(tech, t, DAY + timedelta(days=(-1, 7, 30)[i % 3]))
    day = DAY
    barrier = threading.Barrier(2)
    results, errors = [], []

    def worker():
        try:
            with app.app_context():
                barrier.wait()
                results.append(run_sweep(day))
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert not errors, errors
    db.session.expire_all()
    assert sum(r.expired for r in results) == 10
    assert sum(r.suspended for r in results) == 10
    assert _count(Notification, Notification.kind == "credential.expired") == 10
    reminders = _count(Notification, Notification.kind == "credential.expiring")
    assert reminders == sum(r.reminders for r in results) == 20
    assert run_sweep(day).changes == 0


def test_reminder_email_is_sent_over_smtp_after_commit(app, insured, smtp_server):
    tech, t, cred = insured
    run_sweep(DAY)  # the credential expires in exactly 30 days
    assert smtp_server.recorder.messages == []  # nothing before commit
    db.session.commit()
    content = smtp_server.wait_for(tech.email)
    assert "expires in 30 days" in content
    assert [r for r, _ in smtp_server.recorder.messages] == [[tech.email]]


def test_technician_dashboard_shows_the_offboarding_notice(app, insured, client, auth):
    tech, t, cred = insured
    day = DAY + timedelta(days=31)
    _at(day)
    run_sweep(day)
    db.session.commit()
    auth.login(tech.email)
    page = client.get("/tech").get_data(as_text=True)
    assert "you were removed from work that requires it" in page
    assert "All of your credentials have expired" in page


def test_approval_does_not_lift_a_suspension_an_admin_imposed_for_another_reason(app, insured):
    from marketplace.accounts.services import set_technician_status
    tech, t, cred = insured
    admin = factories.admin()
    set_technician_status(admin, tech.technician, TechnicianStatus.SUSPENDED, "No-show twice")
    renewal = submissions.submit_credential(tech, credential_type_id=t.id, coverage_cents=1,
                                            expires_on=DAY + timedelta(days=400))
    submissions.approve(admin, renewal)
    db.session.commit()
    assert tech.technician.status == TechnicianStatus.SUSPENDED
