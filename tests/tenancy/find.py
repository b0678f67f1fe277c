"""Firm A's assignment (with a file), template and pool (with technician A a member)."""
from datetime import datetime, timezone

from marketplace.extensions import db
from marketplace.find import assignment_templates, assignments, attachments, pools
from marketplace.find.matching import rebuild_index
from marketplace.core.uploads import Upload
from tests import files


def build(world: dict) -> None:
    from marketplace.core import clock
    owner = world["owner_a"]
    marker = world["marker"]
    clock.travel_to(datetime(2030, 5, 1, tzinfo=timezone.utc))
    a = assignments.create_assignment(owner, {
        "title": "Assignment " + marker, "address": "Dallas, TX 75201",
        "start_date": "2030-06-03", "start_time": "09:00", "end_time": "11:00",
        "pricing": "fixed", "rate": "100", "description": marker})
    attachment = attachments.add_attachment(
        owner, a, Upload("site-map-" + marker + ".pdf", files.pdf(title="site map " + marker)))
    template = assignment_templates.save_as_template(owner, a, "Template " + marker)
    # Private, so another technician cannot apply to it.
    pool = pools.create_pool(owner, name="Pool " + marker, visibility="private")
    pools.add_member(owner, pool, world["tech_a"].technician.id)
    pools.accept_invitation(world["tech_a"].technician, pool)
    # Keep the derived match index in step from the start, so a technician's own
    # no-op profile write does not look like a change to the snapshot.
    rebuild_index()
    db.session.commit()
    world.update(assignment_a=a, template_a=template, pool_a=pool, attachment_a=attachment)


PARAMS = {
    "assignment_id": lambda w: w["assignment_a"].id,
    "template_id": lambda w: w["template_a"].id,
    "pool_id": lambda w: w["pool_a"].id,
    "attachment_id": lambda w: w["attachment_a"].id,
}
