"""Messages: a thread per assignment and technician, unread counts, attachments, privacy;
announcements to a pool's active members only."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.find.models import PoolMember, PoolMemberStatus, TalentPool
from marketplace.manage import messages
from marketplace.notifications.models import Notification
from marketplace.web import ui
from tests import factories
from tests.manage.helpers import taken_work


def test_firm_and_assignee_talk_with_unread_counts_and_a_notice(app, ctx):
    owner, tech, job = taken_work()
    theirs = messages.access_thread(tech.user, job.id)
    mine = messages.access_thread(owner, job.id, tech.id)
    messages.post(owner, mine, "Gate code is 4411.")
    messages.post(owner, mine, "Ask for Jordan at the front desk.")
    db.session.commit()
    assert messages.unread_count(tech.user) == 2 and messages.unread_count(owner) == 0
    assert db.session.scalar(select(Notification.title).where(
        Notification.user_id == tech.user.id, Notification.kind == "message.received"))
    messages.mark_read(tech.user, theirs)
    messages.post(tech.user, theirs, "On my way.")
    db.session.commit()
    assert messages.unread_count(tech.user) == 0 and messages.unread_count(owner) == 1
    assert [m.body for m in messages.messages_of(mine)] == [
        "Gate code is 4411.", "Ask for Jordan at the front desk.", "On my way."]
    with pytest.raises(ValidationFailed):
        messages.post(owner, mine, "   ")


def test_technicians_never_see_each_others_threads(app, ctx):
    owner, tech, job = taken_work()
    other = factories.technician()
    db.session.commit()
    with pytest.raises(NotFound):
        messages.access_thread(other, job.id)
    stranger_firm = factories.firm_user()
    with pytest.raises(NotFound):
        messages.access_thread(stranger_firm, job.id, tech.id)
    with pytest.raises(NotFound):  # a technician with no offer and no thread
        messages.access_thread(owner, job.id, other.technician.id)


def test_announcements_reach_active_members_only(app, ctx):
    owner = factories.firm_user()
    active, removed = factories.technician(), factories.technician()
    pool = TalentPool(firm_id=owner.firm.id, name="Dallas bench")
    db.session.add(pool)
    db.session.flush()
    db.session.add_all([
        PoolMember(pool_id=pool.id, technician_id=active.technician.id,
                   status=PoolMemberStatus.ACTIVE),
        PoolMember(pool_id=pool.id, technician_id=removed.technician.id,
                   status=PoolMemberStatus.REMOVED)])
    db.session.commit()
    item = messages.announce(owner, pool, "Storm schedule", "No rooftop work Friday.")
    db.session.commit()
    assert item.recipients == 1
    told = db.session.scalars(select(Notification.user_id).where(
        Notification.kind == "pool.announcement")).all()
    assert told == [active.id]


def test_thread_pages_for_both_sides(app, ctx, client, auth):
    owner, tech, job = taken_work()
    db.session.commit()
    auth.login(owner.email, factories.PASSWORD)
    sent = client.post(f"/work/{job.id}/messages/{tech.id}", data={"body": "Bring a ladder."})
    assert sent.status_code == 302
    auth.logout()
    auth.login(tech.user.email, factories.PASSWORD)
    listing = client.get("/messages").get_data(as_text=True)
    assert job.title in listing and "Bring a ladder." in listing and "New" in listing
    page = client.get(f"/work/{job.id}/messages").get_data(as_text=True)
    assert "Bring a ladder." in page
    assert "New" not in client.get("/messages").get_data(as_text=True)


def test_every_page_shows_the_unread_counts_read_by_one_statement(app, ctx, client, auth):
    owner, tech, job = taken_work()
    mine = messages.access_thread(owner, job.id, tech.id)
    messages.post(owner, mine, "Gate code is 4411.")
    messages.post(owner, mine, "Ask for Jordan at the front desk.")
    db.session.commit()
    auth.login(tech.user.email, factories.PASSWORD)
    statements = []
    event.listen(db.engine, "before_cursor_execute", _counted := (
        lambda conn, cursor, sql, *rest: statements.append(sql)))
    try:
        page = client.get("/offers").get_data(as_text=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", _counted)
    nav = re.search(r'<nav id="mainnav" class="mainnav".*?</nav>', page, re.S).group(0)
    assert re.search(r'Messages<span class="bell-count" aria-label="2 unread">2</span>', nav)
    unread = sum(n.read_at is None for n in db.session.scalars(select(Notification).where(
        Notification.user_id == tech.user.id)))
    assert unread >= 2      # the messages' notices, and the offer's
    assert re.search(rf'Notifications<span class="bell-count">{unread}</span>', page)
    counting = [s for s in statements if "FROM notifications" in s or "FROM messages" in s]
    assert len(counting) == 1 and "FROM notifications" in counting[0] \
        and "FROM messages" in counting[0]
    # An admin has no threads: only their notifications are counted.
    assert ui.page_counts(factories.admin()) == {"unread_notifications": 0, "nav_badges": {}}
