"""Two-way, double-blind ratings: sealed until both rate or 14 days pass, edited for 48
hours and never after reveal, private feedback kept from the other side, replies once,
reports moderated with an audit trail."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core import clock
from marketplace.core.audit import AuditEntry
from marketplace.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.rate import moderation, ratings
from marketplace.rate.models import Direction, RateEvent, TechnicianScore
from tests import factories
from tests.manage.helpers import taken_work
from tests.rate.helpers import approved_work


def test_each_side_sees_the_other_rating_only_after_both_have_rated(app, ctx):
    owner, tech, job = approved_work()
    ratings.rate(owner, job, {"overall": 4, "quality": 5, "comment": "Tidy work",
                              "private_feedback": "Slow to reply to messages"})
    db.session.commit()
    seen_by_tech = ratings.pair_for(tech.user, job)
    assert seen_by_tech.theirs is None and seen_by_tech.theirs_given
    assert ratings.pair_for(owner, job).theirs is None
    # A sealed rating does not count yet: the score would give it away.
    assert db.session.scalar(select(RateEvent).where(RateEvent.kind == "rated")) is None
    ratings.rate(tech.user, job, {"overall": 3, "payment_speed": 2, "comment": "Vague scope"})
    db.session.commit()
    seen_by_tech = ratings.pair_for(tech.user, job)
    seen_by_firm = ratings.pair_for(owner, job)
    assert seen_by_tech.theirs.overall == 4 and seen_by_tech.theirs.comment == "Tidy work"
    assert seen_by_firm.theirs.overall == 3 and seen_by_firm.theirs.payment_speed == 2
    card = db.session.get(TechnicianScore, tech.id)
    assert card.n_rated == 1 and card.stars_sum == 4


def test_a_lone_rating_is_revealed_when_the_window_closes(app, ctx):
    owner, tech, job = approved_work()
    ratings.rate(tech.user, job, {"overall": 5})
    db.session.commit()
    clock.advance(timedelta(days=13, hours=23))
    assert ratings.reveal_due() == 0
    clock.advance(timedelta(hours=2))
    assert ratings.reveal_due() == 1
    db.session.commit()
    assert ratings.pair_for(owner, job).theirs.overall == 5
    with pytest.raises(InvalidState, match="close 14 days"):
        ratings.rate(owner, job, {"overall": 4})


def test_a_rating_can_be_edited_for_48_hours_and_never_after_reveal(app, ctx):
    owner, tech, job = approved_work()
    ratings.rate(owner, job, {"overall": 2})
    clock.advance(timedelta(hours=47))
    ratings.rate(owner, job, {"overall": 3, "comment": "Better than I first said"})
    db.session.commit()
    assert ratings.get_rating(job.id, Direction.OF_TECHNICIAN).overall == 3
    clock.advance(timedelta(hours=2))
    with pytest.raises(InvalidState, match="48 hours"):
        ratings.rate(owner, job, {"overall": 4})
    db.session.rollback()
    # Another job: revealed within the 48 hours, then frozen.
    owner2, tech2, job2 = approved_work()
    ratings.rate(owner2, job2, {"overall": 4})
    ratings.rate(tech2.user, job2, {"overall": 4})
    db.session.commit()
    with pytest.raises(InvalidState, match="revealed"):
        ratings.rate(owner2, job2, {"overall": 1})


def test_only_approved_work_is_rated_by_its_two_sides_with_valid_stars(app, ctx):
    owner, tech, job = taken_work(checklist=[])
    with pytest.raises(InvalidState, match="approved"):
        ratings.rate(owner, job, {"overall": 5})
    db.session.rollback()
    owner, tech, job = approved_work()
    with pytest.raises(ValidationFailed) as exc:
        ratings.rate(owner, job, {"overall": 6})
    assert "overall" in exc.value.fields
    with pytest.raises(ValidationFailed):
        ratings.rate(owner, job, {"overall": "", "quality": 3})
    stranger = factories.technician()
    with pytest.raises(NotFound):
        ratings.rate(stranger, job, {"overall": 1})
    other_firm = factories.firm_user()
    with pytest.raises(NotFound):
        ratings.rate(other_firm, job, {"overall": 1})


def test_private_feedback_and_sealed_ratings_stay_out_of_the_other_sides_json(app, client, auth):
    from marketplace.accounts.tokens import issue_api_token
    with app.app_context():
        owner, tech, job = approved_work()
        _, firm_token = issue_api_token(owner, "firm")
        _, tech_token = issue_api_token(tech.user, "tech")
        db.session.commit()
        tech_email, job_id = tech.user.email, job.id
    as_firm = {"Authorization": f"Bearer {firm_token}"}
    as_tech = {"Authorization": f"Bearer {tech_token}"}
    given = client.post(f"/api/v1/work/{job_id}/rating", headers=as_firm,
                        json={"overall": 5, "comment": "Great", "private_feedback": "secret"})
    assert given.status_code == 200, given.get_json()
    assert given.get_json()["mine"]["private_feedback"] == "secret"
    sealed = client.get(f"/api/v1/work/{job_id}/ratings", headers=as_tech).get_json()
    assert sealed["theirs"] is None and sealed["theirs_given"] is True
    client.post(f"/api/v1/work/{job_id}/rating", headers=as_tech, json={"overall": 4})
    shown = client.get(f"/api/v1/work/{job_id}/ratings", headers=as_tech).get_json()
    assert shown["theirs"]["overall"] == 5 and shown["theirs"]["comment"] == "Great"
    assert "private_feedback" not in shown["theirs"]
    bad = client.post(f"/api/v1/work/{job_id}/rating", headers=as_tech, json={"overall": "five"})
    assert bad.status_code == 422
    auth.login(tech_email)
    page = client.get(f"/work/{job_id}/rating").get_data(as_text=True)
    assert "Great" in page and "secret" not in page


def test_the_technician_replies_once_and_an_admin_hides_a_reported_comment(app, ctx):
    owner, tech, job = approved_work()
    rating = ratings.rate(owner, job, {"overall": 1, "comment": "Rude and careless"})
    with pytest.raises(InvalidState, match="revealed"):
        ratings.reply(tech.user, rating, "Not so")
    ratings.rate(tech.user, job, {"overall": 3})
    ratings.reply(tech.user, rating, "I finished on time; the site was locked.")
    with pytest.raises(InvalidState, match="already replied"):
        ratings.reply(tech.user, rating, "And another thing")
    report = moderation.report(tech.user, rating, "Not true, and personal")
    with pytest.raises(PermissionDenied):
        moderation.hide(owner, rating, "no")
    admin = factories.admin()
    moderation.hide(admin, rating, "Personal remark")
    db.session.commit()
    assert rating.hidden_reason == "Personal remark" and rating.overall == 1
    db.session.refresh(report)
    assert report.outcome == "hidden"
    actions = set(db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject_type == "ratings", AuditEntry.subject_id == rating.id)))
    assert {"rating.given", "rating.replied", "rating.reported", "rating.hidden"} <= actions
