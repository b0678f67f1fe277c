"""Each person's channels per group of events: in the app, email, or a daily digest."""
from __future__ import annotations

from sqlalchemy import func, select

from marketplace.core.outbox import OutboxMessage
from marketplace.extensions import db
from marketplace.notifications import preferences
from marketplace.notifications.services import notify, send_digests, unread_count
from tests import factories


def _emails() -> list[dict]:
    return [m.payload for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.channel == "email").order_by(OutboxMessage.id))]


def test_defaults_email_offers_but_not_messages(app, ctx):
    tech = factories.technician()
    notify(tech, "offer.received", "New offer", "Install cameras")
    notify(tech, "message.received", "Message", "Gate code")
    db.session.commit()
    assert [e["subject"] for e in _emails()] == ["New offer"]
    assert unread_count(tech) == 2


def test_choices_are_honoured_per_group(app, ctx, client, auth):
    tech = factories.technician()
    db.session.commit()
    auth.login(tech.email, factories.PASSWORD)
    form = {"offers-in_app": "on", "work-email": "on", "messages-in_app": "on",
            "messages-digest": "on", "credentials-in_app": "on", "credentials-email": "on"}
    assert client.post("/settings/notifications", data=form).status_code == 302
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert "Daily digest" in page
    notify(tech, "offer.received", "New offer")           # in the app only
    notify(tech, "work.no_show", "Missed")                # email only: no bell
    notify(tech, "message.received", "Gate code", "4411")  # in the app + digest
    notify(tech, "message.received", "Parking", "Dock B")
    db.session.commit()
    assert [e["subject"] for e in _emails()] == ["Missed"]
    assert unread_count(tech) == 3
    assert send_digests() == 1
    db.session.commit()
    digest = _emails()[-1]
    assert digest["subject"] == "Your Onsite digest: 2 updates"
    assert "Gate code: 4411" in digest["body"] and "Parking: Dock B" in digest["body"]
    assert send_digests() == 0


def test_email_and_digest_together_is_refused(app, ctx):
    tech = factories.technician()
    import pytest
    from marketplace.errors import ValidationFailed
    with pytest.raises(ValidationFailed):
        preferences.save(tech, {"messages-email": "on", "messages-digest": "on"})
    assert db.session.scalar(select(func.count()).select_from(
        preferences.NotificationPreference)) == 0
