"""Firm A's webhook endpoint and one delivery to it."""
from marketplace.extensions import db
from marketplace.notifications import webhooks


def build(world: dict) -> None:
    owner = world["owner_a"]
    endpoint, _ = webhooks.create_endpoint(
        owner, url="http://127.0.0.1:9/" + world["marker"],
        event_types=["assignment.approved"], description="Secret " + world["marker"])
    webhooks.emit(owner.firm.id, "assignment.approved", {"note": world["marker"]})
    db.session.flush()
    world.update(endpoint_a=endpoint, delivery_a=webhooks.deliveries(endpoint)[0])
    db.session.commit()


PARAMS = {
    "endpoint_id": lambda w: w["endpoint_a"].id,
    "delivery_id": lambda w: w["delivery_a"].id,
    "outbox_id": lambda w: w["delivery_a"].id,
}
SECRET_PARAMS = {"state": "disable"}
