"""Technician A's and firm A's notifications."""
from marketplace.extensions import db
from marketplace.notifications.services import notify


def build(world: dict) -> None:
    note = notify(world["tech_a"], "test", "Private to A " + world["marker"], email=False)
    notify(world["owner_a"], "test", "Firm A note " + world["marker"], email=False)
    db.session.commit()
    world["notification_a"] = note


PARAMS = {"notification_id": lambda w: w["notification_a"].id}
