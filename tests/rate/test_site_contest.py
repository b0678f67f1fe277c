"""A firm contests a technician's "site not ready" report: an admin decides, audited; an
upheld contest makes the job's arrival, completion and SLA count again."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core.audit import AuditEntry
from marketplace.core import clock
from marketplace.errors import InvalidState, PermissionDenied
from marketplace.extensions import db
from marketplace.notifications.models import Notification
from marketplace.rate import moderation, ratings
from marketplace.rate.models import SITE_NOT_READY, Dispute, RateEvent, TechnicianScore
from tests import factories
from tests.rate.helpers import approved_work


def _reported(late_minutes: int = 20):
    """Late work, approved; the technician reports the site not ready; both have rated."""
    owner, tech, job = approved_work(late_minutes=late_minutes)
    report = ratings.rate(tech.user, job, {"overall": 2, "site_not_ready": "yes"})
    ratings.rate(owner, job, {"overall": 4})
    db.session.commit()
    return owner, tech, job, db.session.merge(report)


def _statuses(job_id: int) -> dict[str, str]:
    return {e.kind: e.status for e in db.session.scalars(
        select(RateEvent).where(RateEvent.assignment_id == job_id))}


def test_an_upheld_contest_makes_the_excused_job_count_again(app, ctx):
    owner, tech, job, report = _reported()
    job_id, tech_id = job.id, tech.id
    assert _statuses(job_id)["late"] == "excused"
    assert db.session.get(TechnicianScore, tech_id).n_late == 0
    assert moderation.can_contest(owner, report)
    contest = moderation.contest_site_report(owner, report, "Photos show the rack room open")
    db.session.commit()
    assert contest.kind == SITE_NOT_READY and contest.raised_by_id == owner.id
    assert not moderation.can_contest(owner, report)
    with pytest.raises(InvalidState):
        moderation.contest_site_report(owner, report, "again")
    db.session.rollback()
    assert _statuses(job_id)["late"] == "excused"       # nothing changes before a decision
    admin = factories.admin()
    moderation.decide(admin, db.session.merge(contest), True, "The photos are dated")
    db.session.commit()
    assert _statuses(job_id)["late"] == "counted"
    assert _statuses(job_id)["first_time"] == "counted"
    assert db.session.get(TechnicianScore, tech_id).n_late == 1
    told = {n.user_id for n in db.session.scalars(select(Notification).where(
        Notification.kind == "rate.dispute_decided"))}
    assert told == {owner.id, tech.user_id}
    actions = [a.action for a in db.session.scalars(select(AuditEntry).where(
        AuditEntry.subject_type == "rate_disputes"))]
    assert "rate_event.disputed" in actions and "rate_dispute.decided" in actions


def test_a_rejected_contest_leaves_the_report_standing(app, ctx):
    owner, tech, job, report = _reported()
    contest = moderation.contest_site_report(owner, report, "It was ready")
    moderation.decide(factories.admin(), contest, False, "No evidence")
    db.session.commit()
    assert _statuses(job.id)["late"] == "excused"
    assert db.session.get(Dispute, contest.id).status == "rejected"


def test_only_the_firm_can_contest_and_only_within_fourteen_days_of_seeing_it(app, ctx):
    owner, tech, job, report = _reported()
    stranger = factories.firm_user()
    with pytest.raises(PermissionDenied):
        moderation.contest_site_report(stranger, report, "not ours but still")
    with pytest.raises(PermissionDenied):
        moderation.contest_site_report(tech.user, report, "me")
    clock.travel_to(report.revealed_at + timedelta(days=15))
    assert not moderation.can_contest(owner, report)
    with pytest.raises(InvalidState):
        moderation.contest_site_report(owner, report, "late")


def test_the_firm_contests_from_the_rating_page(app, client, auth):
    with app.app_context():
        owner, tech, job, report = _reported()
        job_id, email, rating_id = job.id, owner.email, report.id
    auth.login(email, factories.PASSWORD)
    page = client.get(f"/work/{job_id}/rating").get_data(as_text=True)
    assert 'id="contest-site"' in page
    response = client.post(f"/ratings/{rating_id}/contest-site", data={"reason": "Ready"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Dispute.kind)) == SITE_NOT_READY
    assert 'id="contest-site"' not in client.get(f"/work/{job_id}/rating").get_data(as_text=True)
    with app.app_context():
        admin_email = factories.admin().email
        db.session.commit()
    auth.logout()
    auth.login(admin_email, factories.PASSWORD)
    queue = client.get("/admin/ratings").get_data(as_text=True)
    assert "contests" in queue and "was not ready" in queue and "Note to both sides" in queue


def test_a_dispute_raised_in_between_is_refused_not_an_error(app, ctx):
    """Two requests that both pass the "not yet disputed" check: the second insert meets
    the unique key and is refused with the same message."""
    from marketplace.rate.models import Dispute
    from tests.manage.helpers import taken_work
    _, tech, job = taken_work()
    first = Dispute(assignment_id=job.id, technician_id=tech.id, kind="on_time", reason="a")
    moderation._add_once(first, "already")
    with pytest.raises(InvalidState) as refused:
        moderation._add_once(Dispute(assignment_id=job.id, technician_id=tech.id,
                                     kind="on_time", reason="b"), "already")
    assert refused.value.message == "already"
    db.session.commit()                      # the first survives the refused second
    assert db.session.query(Dispute).filter_by(assignment_id=job.id).count() == 1
