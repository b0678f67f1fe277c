"""The demo data loads through the services and gives the demo something to show."""
import random

from marketplace.demo import accounts as accounts_seed
from marketplace.extensions import db
from marketplace.demo import find as find_seed
from marketplace.find.matching import feed_for, match_technicians
from marketplace.find.models import AssignmentStatus


def test_demo_seed_creates_assignments_in_several_states_with_matches(ctx):
    rng = random.Random(1)
    world = accounts_seed.seed(rng, {})
    out = find_seed.seed(rng, world)
    db.session.commit()
    assert len(out["assignments"]) >= 30
    states = {a.status for a in out["assignments"]}
    assert {AssignmentStatus.DRAFT, AssignmentStatus.PUBLISHED,
            AssignmentStatus.CANCELLED} <= states
    published = [a for a in out["assignments"] if a.status == AssignmentStatus.PUBLISHED]
    assert any(match_technicians(a) for a in published)
    assert any(feed_for(t) for t in world["technicians"][:40])


def test_demo_templates_carry_a_scope_of_work_file(ctx):
    from marketplace.find import attachments
    from marketplace.integrations import storage

    rng = random.Random(2)
    world = accounts_seed.seed(rng, {})
    out = find_seed.seed(rng, world)
    db.session.commit()
    files = attachments.list_attachments(out["templates"][0])
    assert [f.filename for f in files] == ["scope-of-work.pdf"]
    data = storage.load(files[0].storage_key)
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    assert out["templates"][0].name.split(" (")[0].encode() in data  # the job on the page
