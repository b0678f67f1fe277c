"""Pools: a suspended technician cannot apply or accept an invitation; removals for a lapse
and reinstatements are audited, and the technician hears of a reinstatement."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.accounts.models import TechnicianStatus
from marketplace.core.audit import AuditEntry
from marketplace.errors import PermissionDenied
from marketplace.extensions import db
from marketplace.find import pools
from marketplace.find.models import PoolMember, PoolMemberStatus, TalentPool
from marketplace.notifications.models import Notification
from tests import factories
from tests.find.helpers import give_credential, requirement_set


def test_a_suspended_technician_cannot_apply_or_accept_an_invitation(app, ctx):
    owner = factories.firm_user()
    tech = factories.technician().technician
    public = pools.create_pool(owner, name="Open bench", visibility="public")
    private = pools.create_pool(owner, name="Regulars", visibility="private")
    pools.invite(owner, private, tech.id)
    tech.status, tech.status_reason = TechnicianStatus.SUSPENDED, "Insurance lapsed."
    db.session.commit()
    with pytest.raises(PermissionDenied):
        pools.apply(tech, public)
    with pytest.raises(PermissionDenied):
        pools.accept_invitation(tech, private)
    assert db.session.scalar(select(PoolMember.status).where(
        PoolMember.pool_id == private.id)) == PoolMemberStatus.INVITED


def test_lapse_removal_and_reinstatement_are_audited_and_the_technician_told(app, ctx):
    owner = factories.firm_user()
    tech = factories.technician().technician
    rset, ctype = requirement_set(owner.firm)
    give_credential(tech, ctype)
    pool = TalentPool(firm_id=owner.firm.id, name="Insured", requirement_set_id=rset.id)
    db.session.add(pool)
    db.session.flush()
    db.session.add(PoolMember(pool_id=pool.id, technician_id=tech.id,
                              status=PoolMemberStatus.ACTIVE))
    db.session.commit()
    from datetime import date
    assert pools.remove_lapsed_members([(tech.id, ctype.id)], date(2031, 6, 1)) == 1
    assert pools.reinstate_members(tech.id, ctype.id) == 1
    db.session.commit()
    actions = db.session.scalars(select(AuditEntry.action).where(
        AuditEntry.subject_type == "pool_members").order_by(AuditEntry.id)).all()
    assert actions == ["pool.member_removed", "pool.member_reinstated"]
    assert db.session.scalar(select(Notification.title).where(
        Notification.kind == "pool.reinstated")) == "You are back in Insured"


def test_a_suspended_technician_cannot_counteroffer(app, ctx):
    from marketplace.engage import offers, routing
    from marketplace.engage.models import Offer, RoutingMode, TargetKind
    from tests.find.helpers import DALLAS, make_assignment, tech_at
    owner = factories.firm_user()
    tech = tech_at(*DALLAS)
    job = make_assignment(owner)
    routing.route_assignment(owner, job, mode=RoutingMode.FIRST_TO_ACCEPT, stages=[
        routing.StagePlan(TargetKind.TECHNICIANS, technician_ids=[tech.id])])
    tech.status, tech.status_reason = TechnicianStatus.SUSPENDED, "Everything lapsed."
    db.session.commit()
    offer = db.session.scalar(select(Offer).where(Offer.assignment_id == job.id))
    with pytest.raises(PermissionDenied):
        offers.propose_counteroffer(tech.user, offer, price_cents=25000)
    assert offer.pending_counteroffer is None
