"""Technician A's approved credential (with its document; firm A works with technician A
through its pool) and firm A's private credential type and requirement set."""
from marketplace.extensions import db
from marketplace.verify import catalog, submissions
from marketplace.verify.models import CredentialKind, CredentialType
from tests import factories
from tests.verify.helpers import PDF


def build(world: dict) -> None:
    owner = world["owner_a"]
    ctype = catalog.create_type(owner, name="A site agreement " + world["marker"],
                                kind="agreement", requires_document=True, expires=False)
    rset = catalog.save_requirement_set(owner, None, name="A set " + world["marker"],
                                        items={ctype.id: None})
    platform = CredentialType(name="OSHA 10", kind=CredentialKind.CERTIFICATION, expires=False)
    db.session.add(platform)
    db.session.flush()
    cred = submissions.submit_credential(
        world["tech_a"], credential_type_id=platform.id, number="NO-" + world["marker"],
        upload=submissions.Upload("a.pdf", PDF))
    submissions.approve(factories.admin(), cred)
    db.session.commit()
    world.update(ctype_a=ctype, rset_a=rset, credential_a=cred)


PARAMS = {
    "credential_id": lambda w: w["credential_a"].id,
    "type_id": lambda w: w["ctype_a"].id,
    "set_id": lambda w: w["rset_a"].id,
    "firm_id": lambda w: w["firm_a"].id,
    "technician_id": lambda w: w["tech_a"].technician.id,
}
