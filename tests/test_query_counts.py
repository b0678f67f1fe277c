"""SQL statements per page and per API list: few, and not growing with the rows shown.

Every page and API list in PAGES is requested by its role in a world holding N
rows of each kind it shows, then again once the world holds 3N: the number of
statements must not change (no query per row shown), and no request may run
more than MAX_STATEMENTS. Adding a page is one line in PAGES; a page that shows
a new kind of row also gets a grower (GROWERS) that adds n rows of that kind.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from marketplace.accounts.models import Role
from marketplace.accounts.tokens import issue_api_token
from marketplace.core import audit, clock
from marketplace.core.actions import Action
from marketplace.engage.models import (
    Counteroffer,
    CounterStatus,
    Engagement,
    Offer,
    OfferStatus,
    RoutingMode,
)
from marketplace.extensions import db
from marketplace.find.matching import reindex_technician
from marketplace.find.models import (
    AssignmentStatus,
    AssignmentTemplate,
    PoolMember,
    PoolMemberStatus,
    PoolVisibility,
    TalentPool,
)
from marketplace.notifications.models import Notification
from marketplace.verify.models import (
    Credential,
    CredentialKind,
    CredentialStatus,
    CredentialType,
)
from tests import factories, pages
from tests.find.helpers import DALLAS, START, make_assignment, requirement_set, tech_at

N = 4
MAX_STATEMENTS = 15
# The dashboards gather a panel from every stage (work, offers, verification, funds and
# spend, ratings to give): each panel reads its own figures, so they get a larger budget.
BUDGETS = {"firm dashboard": 20, "technician dashboard": 20}

# name: (role, path). The path is formatted with the world's ids.
PAGES: dict[str, tuple[str, str]] = {
    "firm dashboard": ("firm", "/firm"),
    "assignment list": ("firm", "/assignments"),
    "assignment page with matches": ("firm", "/assignments/{assignment}"),
    "engagement page": ("firm", "/assignments/{assignment}/engagement"),
    "pools": ("firm", "/pools"),
    "pool page": ("firm", "/pools/{pool}"),
    "templates": ("firm", "/templates"),
    "firm notifications": ("firm", "/notifications"),
    "technician dashboard": ("technician", "/tech"),
    "feed": ("technician", "/feed"),
    "offers list": ("technician", "/offers"),
    "offer page": ("technician", "/offers/{offer}"),
    "credentials": ("technician", "/verify/credentials"),
    "my pools": ("technician", "/my/pools"),
    "technician notifications": ("technician", "/notifications"),
    "admin dashboard": ("admin", "/admin"),
    "admin review queue": ("admin", "/verify/review"),
    "api assignments": ("firm", "/api/v1/assignments"),
    "api matches": ("firm", "/api/v1/assignments/{assignment}/matches"),
    "api assignment offers": ("firm", "/api/v1/assignments/{assignment}/offers"),
    "api timeline": ("firm", "/api/v1/assignments/{assignment}/timeline"),
    "api templates": ("firm", "/api/v1/templates"),
    "api pools": ("firm", "/api/v1/pools"),
    "api pool": ("firm", "/api/v1/pools/{pool}"),
    "api feed": ("technician", "/api/v1/feed"),
    "api offers": ("technician", "/api/v1/offers"),
    "api credentials": ("technician", "/api/v1/credentials"),
    "api credential types": ("technician", "/api/v1/credential-types"),
    "api my pools": ("technician", "/api/v1/my/pools"),
    "api notifications": ("technician", "/api/v1/notifications"),
    "api review queue": ("admin", "/api/v1/review-queue"),
    "technician directory": ("firm", "/technicians"),
    "technician directory near a site": ("firm", "/technicians?near=75201&within=80"),
    "technician profile": ("firm", "/technicians/{tech}"),
    "compliance report": ("firm", "/verify/compliance"),
    "compliance report, expiring": ("firm", "/verify/compliance?expiring=90"),
    "compliance csv": ("firm", "/verify/compliance.csv"),
    "admin compliance report": ("admin", "/verify/compliance"),
    "admin technician profile": ("admin", "/technicians/{tech}"),
    "admin users": ("admin", "/admin/users"),
    "admin audit log": ("admin", "/admin/audit"),
}


# --- the world --------------------------------------------------------------------

def _build() -> SimpleNamespace:
    """One firm with a routed assignment, a technician with an offer on it, an admin."""
    w = SimpleNamespace(count=0)
    w.skills = [factories.SkillFactory(), factories.SkillFactory()]
    w.owner = factories.firm_user(Role.OWNER)
    w.firm = w.owner.firm
    w.admin = factories.admin()
    w.tech = tech_at(*DALLAS, skills={s.id: 3 for s in w.skills}, travel_radius_km=80)
    reindex_technician(w.tech.id)
    w.a = make_assignment(w.owner, skills={s.id: 1 for s in w.skills})
    db.session.add(Engagement(assignment_id=w.a.id, mode=RoutingMode.FIRST_TO_ACCEPT))
    w.offer = Offer(assignment_id=w.a.id, technician_id=w.tech.id, price_cents=20000,
                    expires_at=START - timedelta(days=1))
    w.pool = TalentPool(firm_id=w.firm.id, name="Regulars", visibility=PoolVisibility.PUBLIC)
    db.session.add_all([w.offer, w.pool])
    # A requirement set the technician does not meet, on work booked for them a month on:
    # the compliance report's matrix and its work at risk have something to show.
    w.insured, _ = requirement_set(w.firm, name="Insured")
    make_assignment(w.owner, title="Booked later", status=AssignmentStatus.ASSIGNED,
                    assignee_id=w.tech.id, requirement_set_id=w.insured.id,
                    starts_at=START + timedelta(days=30))
    db.session.commit()
    w.ids = {"assignment": w.a.id, "offer": w.offer.id, "pool": w.pool.id, "tech": w.tech.id}
    return w


def _grow_firm_side(w, i: int) -> None:
    """Another assignment, template and pool of the firm, in turn through the states."""
    states = list(AssignmentStatus)
    make_assignment(w.owner, title=f"Job {i}", status=states[i % len(states)],
                    skills={w.skills[i % 2].id: 1}, starts_at=START + timedelta(days=i))
    db.session.add_all([
        AssignmentTemplate(firm_id=w.firm.id, name=f"Template {i}", created_by_id=w.owner.id,
                           data={"address": f"{i} Main St, Dallas, TX"}),
        TalentPool(firm_id=w.firm.id, name=f"Pool {i}")])
    audit.record(Action.ASSIGNMENT_UPDATED, w.a, actor=w.owner, firm_id=w.firm.id)
    db.session.commit()


def _grow_other_technicians(w, i: int) -> None:
    """A technician near the site (a match), with an offer and a counteroffer on the
    assignment, in the firm's pool, and a pending credential of a new type."""
    other = tech_at(DALLAS[0] + 0.01 * (i + 1), DALLAS[1],
                    skills={s.id: 2 for s in w.skills}, travel_radius_km=60)
    reindex_technician(other.id)
    offer = Offer(assignment_id=w.a.id, technician_id=other.id, price_cents=20000,
                  expires_at=START - timedelta(days=1),
                  status=OfferStatus.COUNTERED if i % 2 else OfferStatus.OPEN)
    ctype = CredentialType(name=f"Licence {i}", kind=CredentialKind.LICENCE)
    db.session.add_all([offer, ctype,
                        PoolMember(pool_id=w.pool.id, technician_id=other.id,
                                   status=PoolMemberStatus.ACTIVE)])
    db.session.flush()
    db.session.add_all([
        Counteroffer(offer_id=offer.id, proposed_by="technician", price_cents=25000,
                     status=CounterStatus.PENDING if i % 2 else CounterStatus.REJECTED),
        Credential(technician_id=other.id, credential_type_id=ctype.id,
                   status=CredentialStatus.PENDING, expires_on=date(2031, 1, 1))])
    db.session.commit()


def _grow_technician_side(w, i: int) -> None:
    """Work from another firm in the technician's feed with an offer for it, a
    credential of a new type, an invitation to another firm's pool."""
    other = factories.firm_user(Role.OWNER)
    a = make_assignment(other, title=f"Nearby {i}", lat=DALLAS[0] + 0.02 * (i + 1),
                        skills={w.skills[i % 2].id: 1}, starts_at=START + timedelta(days=i))
    db.session.add(Engagement(assignment_id=a.id, mode=RoutingMode.APPLY_AND_CHOOSE))
    ctype = CredentialType(name=f"Certificate {i}", kind=CredentialKind.CERTIFICATION)
    pool = TalentPool(firm_id=other.firm.id, name=f"Their pool {i}",
                      visibility=PoolVisibility.PUBLIC)
    db.session.add_all([ctype, pool])
    db.session.flush()
    expires = clock.today() + timedelta(days=10 if i % 2 else 400)   # some expiring soon
    db.session.add_all([
        Offer(assignment_id=a.id, technician_id=w.tech.id, price_cents=15000,
              expires_at=START - timedelta(days=1)),
        Credential(technician_id=w.tech.id, credential_type_id=ctype.id,
                   status=CredentialStatus.APPROVED, expires_on=expires),
        PoolMember(pool_id=pool.id, technician_id=w.tech.id,
                   status=PoolMemberStatus.INVITED if i % 2 else PoolMemberStatus.ACTIVE)])
    db.session.commit()


def _grow_notifications(w, i: int) -> None:
    for user in (w.owner, w.tech.user, w.admin):
        db.session.add(Notification(user_id=user.id, kind="test", title=f"Note {i}",
                                    link="/notifications"))
    db.session.commit()


GROWERS: list[Callable[[SimpleNamespace, int], None]] = [
    _grow_firm_side, _grow_other_technicians, _grow_technician_side, _grow_notifications]


def _grow(w, n: int) -> None:
    for i in range(w.count, w.count + n):
        for grower in GROWERS:
            grower(w, i)
    w.count += n


# --- counting ---------------------------------------------------------------------

def _clients(app, w) -> dict[str, tuple]:
    """Per role: a signed-in test client and an API token header."""
    users = {"firm": w.owner, "technician": w.tech.user, "admin": w.admin}
    headers = {role: {"Authorization": f"Bearer {issue_api_token(user, 'counting')[1]}"}
               for role, user in users.items()}
    emails = {role: user.email for role, user in users.items()}
    db.session.commit()     # (SQLite: the test's own session holds no lock while they sign in)
    out = {}
    for role, email in emails.items():
        client = app.test_client()
        response = client.post("/login", data={"email": email, "password": factories.PASSWORD})
        assert response.status_code == 302, f"{role} could not sign in"
        out[role] = (client, headers[role])
    return out


def _count_all(clients, w) -> dict[str, int]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    counts = {}
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for name, (role, path) in PAGES.items():
            client, headers = clients[role]
            url = path.format(**w.ids)
            kw = {"headers": headers} if url.startswith("/api/") else {}
            client.get(url, **kw)             # warm-up: once-a-minute writes, first loads
            statements.clear()
            response = client.get(url, **kw)
            assert response.status_code == 200, f"{name}: {url} answered {response.status_code}"
            counts[name] = len(statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return counts


@pytest.fixture
def world(ctx):
    w = _build()
    _grow(w, N)
    return w


def test_the_world_shows_its_rows(app, ctx, world):
    """The pages do show the rows the counts are about (so a constant count means
    something): matches, offers, feed items, queue entries, members."""
    clients = _clients(app, world)
    firm, _ = clients["firm"]
    tech, tech_api = clients["technician"]
    admin, _ = clients["admin"]
    page = firm.get(f"/assignments/{world.a.id}").get_data(as_text=True)
    assert page.count('class="meta">') >= N + 1                   # the matches
    engagement = firm.get(f"/assignments/{world.a.id}/engagement").get_data(as_text=True)
    assert engagement.count("data-offer=") == N + 1
    assert len(tech.get("/api/v1/feed", headers=tech_api).get_json()["data"]) > N
    assert len(tech.get("/api/v1/offers", headers=tech_api).get_json()["data"]) == N + 1
    assert admin.get("/verify/review").get_data(as_text=True).count('class="queue-row') == N
    assert firm.get(f"/pools/{world.pool.id}").get_data(as_text=True).count("#") >= N


def test_statements_per_page_do_not_grow_with_the_rows_shown(app, ctx, world):
    clients = _clients(app, world)
    before = _count_all(clients, world)
    _grow(world, 2 * N)
    after = _count_all(clients, world)
    grew = {name: (before[name], after[name]) for name in PAGES if after[name] != before[name]}
    assert not grew, f"statements grow with the rows shown ({N} -> {3 * N} rows): {grew}"
    heavy = {name: n for name, n in after.items() if n > BUDGETS.get(name, MAX_STATEMENTS)}
    assert not heavy, f"more statements than the page's budget: {heavy}"


def test_feed_checks_the_nearest_work_first_and_still_fills_its_limit(ctx):
    """The feed checks exclusions for the nearest candidates in batches: work that is
    excluded (here, blocked firms' work nearest to the technician) makes way for the
    next nearest, and the limit is still filled, nearest first."""
    from marketplace.find.matching import feed_for
    from marketplace.find.models import FirmBlock

    skill = factories.SkillFactory()
    tech = tech_at(*DALLAS, skills={skill.id: 2}, travel_radius_km=80)
    open_ = []
    for i in range(12):
        owner = factories.firm_user(Role.OWNER)
        a = make_assignment(owner, title=f"{i:02d}", lat=DALLAS[0] + 0.01 * (i + 1),
                            skills={skill.id: 1})
        if i < 8:
            db.session.add(FirmBlock(firm_id=owner.firm.id, technician_id=tech.id))
        else:
            open_.append(a.title)
    db.session.commit()
    assert [i.assignment.title for i in feed_for(tech, limit=3)] == open_[:3]
    assert [i.assignment.title for i in feed_for(tech, limit=50)] == open_


def test_review_queue_page_shows_the_oldest_fifty_and_says_more_wait(app, ctx):
    """The queue page renders a page of the oldest submissions, not every one."""
    from datetime import datetime, timezone

    from marketplace.verify.views import REVIEW_PAGE

    admin = factories.admin()
    tech = factories.technician()
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    for i in range(REVIEW_PAGE + 2):
        ctype = CredentialType(name=f"Type {i:03d}", kind=CredentialKind.LICENCE)
        db.session.add(ctype)
        db.session.flush()
        db.session.add(Credential(technician_id=tech.technician.id, credential_type_id=ctype.id,
                                  status=CredentialStatus.PENDING,
                                  submitted_at=start + timedelta(hours=i)))
    email = admin.email
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": email, "password": factories.PASSWORD})
    page = client.get("/verify/review").get_data(as_text=True)
    rows = pages.text(page, "queue")
    shown = [i for i in range(REVIEW_PAGE + 2) if f"Type {i:03d}" in rows]
    assert shown == list(range(REVIEW_PAGE))
    assert f"Page 1 of 2 · {REVIEW_PAGE + 2} in all" in pages.text(page)
