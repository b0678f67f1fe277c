"""Sign-up, sign-in, team roles, invitations and passwords."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace.accounts.models import AccountKind, Invitation, Membership, Role, User
from marketplace.core.audit import AuditEntry
from marketplace.extensions import db
from tests import factories

STRONG = "Sturdy-pass-42"


def test_firm_signup_creates_firm_and_owner_and_signs_in(client, ctx):
    response = client.post("/signup/firm", data={
        "firm_name": "Bluebonnet Cabling", "industry": "low_voltage", "name": "Ana Ruiz",
        "email": "Ana@Bluebonnet.example", "password": STRONG})
    assert response.status_code == 302 and response.headers["Location"].endswith("/firm")
    user = db.session.scalar(select(User).where(User.email == "ana@bluebonnet.example"))
    assert user.kind == AccountKind.FIRM and user.membership.role == Role.OWNER
    assert user.firm.name == "Bluebonnet Cabling" and user.firm.slug == "bluebonnet-cabling"
    assert "Bluebonnet Cabling" in client.get("/firm").get_data(as_text=True)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "firm.registered"))


def test_technician_signup_geocodes_zip_and_lands_on_profile(client, ctx):
    response = client.post("/signup/technician", data={
        "name": "Lee Park", "email": "lee@example.com", "postal_code": "60602",
        "password": STRONG})
    assert response.status_code == 302 and response.headers["Location"].endswith("/profile")
    tech = db.session.scalar(select(User).where(User.email == "lee@example.com")).technician
    assert (tech.city, tech.state) == ("Chicago", "IL")
    assert tech.lat == pytest.approx(41.88, abs=0.05) and tech.timezone == "America/Chicago"


def test_signup_errors_show_on_the_field_and_keep_input(client, ctx):
    factories.firm_user(email="taken@example.com")
    response = client.post("/signup/technician", data={
        "name": "Lee Park", "email": "taken@example.com", "postal_code": "00000",
        "password": "short"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Use at least 10 characters." in body
    assert 'value="Lee Park"' in body
    assert db.session.scalar(select(User).where(User.name == "Lee Park")) is None


def test_unknown_zip_is_a_field_error(client, ctx):
    body = client.post("/signup/technician", data={
        "name": "Lee", "email": "lee2@example.com", "postal_code": "00000",
        "password": STRONG}).get_data(as_text=True)
    assert "We do not know that US ZIP code." in body


@pytest.mark.parametrize("kind,home", [("firm", "/firm"), ("technician", "/tech"),
                                       ("admin", "/admin")])
def test_each_role_logs_in_to_its_dashboard_and_out(client, ctx, kind, home):
    user = {"firm": factories.firm_user, "technician": factories.technician,
            "admin": factories.admin}[kind]()
    response = client.post("/login", data={"email": user.email.upper(),
                                           "password": factories.PASSWORD})
    assert response.headers["Location"].endswith("/dashboard")
    assert client.get("/dashboard").headers["Location"].endswith(home)
    assert client.get(home).status_code == 200
    client.post("/logout")
    assert client.get(home).status_code == 302


def test_wrong_password_says_so_without_telling_which_part(client, ctx):
    user = factories.technician()
    for email in (user.email, "nobody@example.com"):
        body = client.post("/login", data={"email": email, "password": "wrong-pass-1"}) \
            .get_data(as_text=True)
        assert "Email or password is not right." in body


def test_login_redirect_only_to_local_paths(client, ctx):
    user = factories.technician()
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                           "next": "https://evil.example/steal"})
    assert response.headers["Location"] == "/dashboard"


def test_login_is_rate_limited(app, client, ctx):
    user = factories.technician()
    limit = int(app.config["LOGIN_RATE_LIMIT"].split()[0])
    statuses = [client.post("/login", data={"email": user.email, "password": "nope-nope-1"})
                .status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [200] * limit
    assert statuses[-1] == 429
    blocked = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert blocked.status_code == 429 and "Too many attempts" in blocked.get_data(as_text=True)


def test_disabled_account_cannot_log_in(client, ctx):
    user = factories.technician()
    user.is_enabled = False
    db.session.commit()
    response = client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    assert response.status_code == 403


def test_forms_reject_posts_without_csrf_token(backend_app, ctx):
    backend_app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = backend_app.test_client()
        user = factories.technician()
        response = client.post("/login", data={"email": user.email,
                                               "password": factories.PASSWORD})
        assert response.status_code == 400
        assert "expired or was not sent from this site" in response.get_data(as_text=True)
        page = client.get("/login").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        ok = client.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                         "csrf_token": token})
        assert ok.status_code == 302
    finally:
        backend_app.config["WTF_CSRF_ENABLED"] = False


def test_owner_invites_dispatcher_who_joins_with_budget_limit(client, auth, ctx, smtp_server):
    owner = factories.firm_user()
    auth.login(owner.email, factories.PASSWORD)
    response = client.post("/team", data={"email": "disp@example.com", "role": "dispatcher",
                                          "budget_limit": "750.00"})
    assert response.status_code == 302
    message = smtp_server.wait_for("disp@example.com")
    link = re.search(r"(/invitations/[\w-]+)", message).group(1)
    auth.logout()
    assert "as <strong>Dispatcher</strong>" in client.get(link).get_data(as_text=True)
    response = client.post(link, data={"name": "Dee Spatch", "password": STRONG})
    assert response.headers["Location"].endswith("/firm")
    joined = db.session.scalar(select(User).where(User.email == "disp@example.com"))
    assert joined.membership.firm_id == owner.firm.id
    assert joined.membership.role == Role.DISPATCHER
    assert joined.membership.budget_limit_cents == 75000
    assert client.get(link).status_code == 409  # used links are dead


def test_expired_invitation_cannot_be_used(client, auth, ctx):
    from datetime import timedelta
    from marketplace.core import clock
    owner = factories.firm_user()
    auth.login(owner.email, factories.PASSWORD)
    client.post("/team", data={"email": "late@example.com", "role": "manager"})
    invitation = db.session.scalar(select(Invitation))
    assert invitation.status == "pending"
    clock.advance(timedelta(days=8))
    assert invitation.status == "expired"


def test_dispatcher_cannot_manage_the_team(client, auth, ctx):
    owner = factories.firm_user()
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.firm)
    auth.login(dispatcher.email, factories.PASSWORD)
    response = client.post("/team", data={"email": "x@example.com", "role": "manager"})
    assert "Only owners and managers manage the team." in response.get_data(as_text=True)
    assert db.session.scalar(select(Invitation)) is None
    assert client.get(f"/team/members/{owner.membership.id}").status_code == 403


def test_manager_cannot_demote_the_last_owner_and_owner_can_remove_member(client, auth, ctx):
    owner = factories.firm_user()
    manager = factories.firm_user(Role.MANAGER, firm=owner.firm)
    auth.login(manager.email, factories.PASSWORD)
    client.post(f"/team/members/{owner.membership.id}", data={"role": "dispatcher"})
    db.session.expire_all()
    assert db.session.get(Membership, owner.membership.id).role == Role.OWNER
    auth.logout()
    auth.login(owner.email, factories.PASSWORD)
    client.post(f"/team/members/{manager.membership.id}/remove")
    db.session.expire_all()
    gone = db.session.get(User, manager.id)
    assert gone.membership is None and not gone.is_enabled


def test_password_change_signs_out_other_sessions(app, ctx):
    user = factories.technician()
    phone, laptop = app.test_client(), app.test_client()
    for c in (phone, laptop):
        c.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    response = laptop.post("/settings/password", data={"current_password": factories.PASSWORD,
                                                       "new_password": STRONG})
    assert response.status_code == 302
    assert laptop.get("/tech").status_code == 200
    assert phone.get("/tech").status_code == 302


def test_technician_edits_profile_and_skills(client, auth, ctx):
    tech = factories.technician()
    skill = factories.SkillFactory(name="Fiber splicing")
    auth.login(tech.email, factories.PASSWORD)
    response = client.post("/profile", data={
        "headline": "Fiber tech", "bio": "", "postal_code": "80202", "travel_radius_km": "60",
        "hourly_rate": "72.50", "mon": "y", "tue": "y", f"skill-{skill.id}": "4"})
    assert response.status_code == 302
    db.session.expire_all()
    profile = db.session.get(User, tech.id).technician
    assert (profile.city, profile.travel_radius_km, profile.hourly_rate_cents) == ("Denver", 60, 7250)
    assert [(s.skill_id, s.level) for s in profile.skills] == [(skill.id, 4)]
    assert profile.availability["mon"] and not profile.availability["wed"]


def test_admins_come_only_from_the_cli(app, ctx):
    assert not any("admin" in r.rule and "signup" in r.rule for r in app.url_map.iter_rules())
    result = app.test_cli_runner().invoke(args=["create-admin", "root@example.com", "--name",
                                                "Root", "--password", STRONG])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.email == "root@example.com")).is_admin
    bad = app.test_cli_runner().invoke(args=["create-admin", "root@example.com",
                                             "--password", STRONG])
    assert bad.exit_code != 0 and "already exists" in bad.output


def test_a_firm_user_cannot_open_technician_or_admin_pages(client, auth, ctx):
    auth.login(factories.firm_user().email, factories.PASSWORD)
    assert client.get("/tech").status_code == 403
    assert client.get("/admin").status_code == 403
    assert client.get("/profile").status_code == 403


def test_dashboards_show_profile_completeness_team_and_platform_counts(client, auth, ctx):
    owner = factories.firm_user()
    factories.firm_user(Role.DISPATCHER, firm=owner.firm)
    tech = factories.technician()
    admin = factories.admin()
    auth.login(tech.email, factories.PASSWORD)
    assert "Your profile is 50% complete" in client.get("/tech").get_data(as_text=True)
    auth.logout()
    auth.login(owner.email, factories.PASSWORD)
    body = client.get("/firm").get_data(as_text=True)
    assert '<span class="stat-value">2</span><span class="stat-label">team members' in body
    auth.logout()
    auth.login(admin.email, factories.PASSWORD)
    body = client.get("/admin").get_data(as_text=True)
    assert '<span class="stat-value">1</span><span class="stat-label">active technician</span>' in body
