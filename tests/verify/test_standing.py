"""An admin suspends a technician by hand, with a reason the technician reads, and
reinstates them; both are audited under their own names and reach matching at once;
reinstating never lifts a suspension the credentials still call for."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from marketplace.accounts.models import Role, TechnicianStatus
from marketplace.core import clock
from marketplace.core.actions import Action
from marketplace.core.audit import AuditEntry
from marketplace.extensions import db
from marketplace.find.matching import match_technicians, rebuild_index
from marketplace.notifications.models import Notification
from marketplace.verify import submissions
from marketplace.verify.expiry import run_sweep
from marketplace.verify.models import Credential, CredentialStatus
from tests import factories
from tests.find.helpers import DALLAS, make_assignment, tech_at
from tests.pages import text
from tests.verify.helpers import ctype

NOW = datetime(2030, 5, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def world(ctx):
    clock.travel_to(NOW, freeze=True)
    admin = factories.admin(email="admin@example.com", name="Ada Admin")
    owner = factories.firm_user(Role.OWNER, email="owner@example.com")
    skill = factories.SkillFactory(name="CCTV")
    dana = tech_at(*DALLAS, skills={skill.id: 3}, name="Dana Reyes", email="dana@example.com")
    job = make_assignment(owner, title="Install cameras", skills={skill.id: 1},
                          starts_at=NOW + timedelta(days=5))
    rebuild_index()
    db.session.commit()
    return {"admin": admin, "owner": owner, "dana": dana, "job": job}


def _matched(world) -> bool:
    return world["dana"].id in {m.technician_id for m in match_technicians(world["job"])}


def _actions(tech_id: int) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.subject_type == "technicians", AuditEntry.subject_id == tech_id)
        .order_by(AuditEntry.id)))


def test_an_admin_suspends_with_a_reason_and_matching_drops_them_at_once(
        client, auth, world):
    dana = world["dana"]
    assert _matched(world)
    auth.login("admin@example.com")
    response = client.post(f"/technicians/{dana.id}/suspend",
                           data={"reason": "Insurance certificate was forged"})
    assert response.status_code == 302
    db.session.expire_all()
    assert dana.status == TechnicianStatus.SUSPENDED
    assert dana.status_reason == "Insurance certificate was forged"
    entry = _actions(dana.id)[-1]
    assert entry.action == Action.TECHNICIAN_SUSPENDED == "technician.suspended"
    assert entry.actor_id == world["admin"].id
    assert entry.before == {"status": "active", "reason": None}
    assert entry.after == {"status": "suspended", "reason": "Insurance certificate was forged"}
    note = db.session.scalar(select(Notification).where(Notification.user_id == dana.user_id))
    assert note.title == "Your account is suspended"
    assert "Reason: Insurance certificate was forged" in note.body
    assert not _matched(world)                    # technician_changed reached the index
    page = client.get(f"/technicians/{dana.id}").get_data(True)
    standing = text(page, "standing")
    assert "Status\nSuspended" in standing
    assert "Reason\nInsurance certificate was forged" in standing
    assert "Reinstate" in standing and "technician.suspended" in text(page, "standing-history")


def test_reinstating_is_audited_with_its_reason_and_matching_takes_them_back(
        client, auth, world):
    dana = world["dana"]
    auth.login("admin@example.com")
    client.post(f"/technicians/{dana.id}/suspend", data={"reason": "Checking a complaint"})
    response = client.post(f"/technicians/{dana.id}/reinstate",
                           data={"reason": "Complaint was unfounded"}, follow_redirects=True)
    assert "Dana Reyes is reinstated." in text(response.get_data(True))
    db.session.expire_all()
    assert dana.status == TechnicianStatus.ACTIVE and dana.status_reason is None
    entry = _actions(dana.id)[-1]
    assert entry.action == "technician.reinstated"
    assert entry.after == {"status": "active", "reason": None,
                           "note": "Complaint was unfounded"}
    assert _matched(world)
    titles = list(db.session.scalars(select(Notification.title).where(
        Notification.user_id == dana.user_id).order_by(Notification.id)))
    assert titles == ["Your account is suspended", "You are reinstated"]


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301])
def test_a_suspension_needs_a_reason(client, auth, world, reason):
    dana = world["dana"]
    auth.login("admin@example.com")
    response = client.post(f"/technicians/{dana.id}/suspend", data={"reason": reason},
                           follow_redirects=True)
    page = text(response.get_data(True))
    assert "Say why: the technician reads it in their notice." in page or \
        "Keep the reason under 300 characters." in page
    db.session.expire_all()
    assert dana.status == TechnicianStatus.ACTIVE
    assert not [e for e in _actions(dana.id) if e.action == "technician.suspended"]


def test_reinstating_does_not_lift_what_the_credentials_call_for(client, auth, world):
    """The sweep suspended Dana when her only credential lapsed: an admin cannot reinstate
    her until a renewal is approved (which reinstates her by itself)."""
    dana, admin = world["dana"], world["admin"]
    insurance = ctype("General liability insurance")
    cred = Credential(technician_id=dana.id, credential_type_id=insurance.id,
                      expires_on=date(2030, 5, 10), status=CredentialStatus.APPROVED,
                      coverage_cents=1)
    db.session.add(cred)
    db.session.commit()
    clock.travel_to(datetime(2030, 5, 12, 12, tzinfo=timezone.utc), freeze=True)
    run_sweep()
    db.session.commit()
    assert dana.status == TechnicianStatus.SUSPENDED
    auth.login("admin@example.com")
    page = client.get(f"/technicians/{dana.id}").get_data(True)
    blocked = ("None of their credentials is valid today (General liability insurance expired "
               "2030-05-10). Approve a renewal first: that reinstates them.")
    assert blocked in text(page, "reinstate-blocked")
    assert 'id="reinstate-form"' not in page
    response = client.post(f"/technicians/{dana.id}/reinstate", data={"reason": "Please"},
                           follow_redirects=True)
    assert blocked in text(response.get_data(True))
    db.session.expire_all()
    assert dana.status == TechnicianStatus.SUSPENDED
    renewal = submissions.submit_credential(dana.user, credential_type_id=insurance.id,
                                            coverage_cents=1, expires_on=date(2031, 5, 1))
    submissions.approve(admin, renewal)
    db.session.commit()
    assert dana.status == TechnicianStatus.ACTIVE


def test_a_manual_suspension_outlasting_every_credential_stays_until_a_renewal(
        client, auth, world):
    dana = world["dana"]
    insurance = ctype("General liability insurance")
    db.session.add(Credential(technician_id=dana.id, credential_type_id=insurance.id,
                              expires_on=date(2030, 5, 10), status=CredentialStatus.APPROVED,
                              coverage_cents=1))
    db.session.commit()
    auth.login("admin@example.com")
    client.post(f"/technicians/{dana.id}/suspend", data={"reason": "Complaint"})
    clock.travel_to(datetime(2030, 5, 20, 12, tzinfo=timezone.utc), freeze=True)
    response = client.post(f"/technicians/{dana.id}/reinstate", data={"reason": "Cleared"},
                           follow_redirects=True)
    assert "None of their credentials is valid today" in text(response.get_data(True))
    db.session.expire_all()
    assert dana.status == TechnicianStatus.SUSPENDED and dana.status_reason == "Complaint"


def test_only_admins_suspend_and_firms_see_no_standing(client, auth, world):
    dana = world["dana"]
    auth.login("owner@example.com")
    assert client.post(f"/technicians/{dana.id}/suspend",
                       data={"reason": "I do not like them"}).status_code == 403
    page = client.get(f"/technicians/{dana.id}").get_data(True)
    assert 'id="standing"' not in page and "Suspend" not in page
    db.session.expire_all()
    assert dana.status == TechnicianStatus.ACTIVE
