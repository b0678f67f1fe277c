"""Talent pools: joining checks the requirement set; lapses remove, renewals reinstate."""
from __future__ import annotations

from datetime import date

import pytest

from marketplace.accounts.models import Role
from marketplace.errors import InvalidState, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.find import pools
from marketplace.find.models import PoolMemberStatus
from marketplace.core.signals import credential_approved, credentials_lapsed
from tests import factories
from tests.find.helpers import give_credential, requirement_set


@pytest.fixture
def owner(ctx):
    return factories.firm_user(Role.OWNER)


def test_public_pool_takes_applications_that_the_firm_approves(owner):
    pool = pools.create_pool(owner, name="Dallas low-voltage", visibility="public")
    tech = factories.technician().technician
    member = pools.apply(tech, pool)
    assert member.status == PoolMemberStatus.APPLIED
    with pytest.raises(InvalidState):
        pools.apply(tech, pool)
    pools.approve_application(owner, pool, tech.id)
    assert pools.active_member_ids(pool) == [tech.id]


def test_private_and_invite_only_pools_refuse_applications(owner):
    tech = factories.technician().technician
    for visibility in ("private", "invite_only"):
        pool = pools.create_pool(owner, name=visibility, visibility=visibility)
        with pytest.raises(PermissionDenied):
            pools.apply(tech, pool)


def test_invitation_is_accepted_by_the_technician(owner):
    pool = pools.create_pool(owner, name="Invite", visibility="invite_only")
    tech = factories.technician().technician
    pools.invite(owner, pool, tech.id)
    assert pools.active_member_ids(pool) == []
    pools.accept_invitation(tech, pool)
    assert pools.active_member_ids(pool) == [tech.id]


def test_joining_a_pool_with_a_requirement_set_needs_compliance(owner):
    rs, ctype = requirement_set(owner.firm)
    pool = pools.create_pool(owner, name="Insured", requirement_set_id=rs.id)
    tech = factories.technician().technician
    with pytest.raises(ValidationFailed) as err:
        pools.add_member(owner, pool, tech.id)
    assert "missing" in err.value.message
    give_credential(tech, ctype)
    pools.add_member(owner, pool, tech.id)
    pools.accept_invitation(tech, pool)
    assert pools.active_member_ids(pool) == [tech.id]


def test_pool_cannot_use_another_firms_requirement_set(owner):
    rs, _ = requirement_set(factories.firm_user().firm)
    with pytest.raises(ValidationFailed):
        pools.create_pool(owner, name="X", requirement_set_id=rs.id)


def test_lapse_removes_members_set_based_and_approval_reinstates_them(owner):
    rs, ctype = requirement_set(owner.firm)
    strict = pools.create_pool(owner, name="Insured", requirement_set_id=rs.id)
    open_pool = pools.create_pool(owner, name="Anyone")
    a, b = factories.technician().technician, factories.technician().technician
    cred_a = give_credential(a, ctype, expires_on=date(2030, 1, 1))
    give_credential(b, ctype, expires_on=date(2031, 1, 1))
    for tech in (a, b):
        for pool in (strict, open_pool):
            pools.add_member(owner, pool, tech.id)
            pools.accept_invitation(tech, pool)
    db.session.commit()

    cred_a.expires_on = date(2020, 1, 1)
    credentials_lapsed.send(None, pairs=[(a.id, ctype.id)], on=date(2026, 1, 1))
    db.session.commit()
    assert pools.active_member_ids(strict) == [b.id]
    assert sorted(pools.active_member_ids(open_pool)) == sorted([a.id, b.id])

    give_credential(a, ctype, expires_on=date(2031, 6, 1))
    credential_approved.send(None, technician_id=a.id, credential_type_id=ctype.id)
    db.session.commit()
    assert sorted(pools.active_member_ids(strict)) == sorted([a.id, b.id])


def test_members_removed_by_the_firm_are_not_reinstated_by_a_renewal(owner):
    rs, ctype = requirement_set(owner.firm)
    pool = pools.create_pool(owner, name="Insured", requirement_set_id=rs.id)
    tech = factories.technician().technician
    give_credential(tech, ctype)
    pools.add_member(owner, pool, tech.id)
    pools.accept_invitation(tech, pool)
    pools.remove_member(owner, pool, tech.id)
    credential_approved.send(None, technician_id=tech.id, credential_type_id=ctype.id)
    assert pools.active_member_ids(pool) == []


def test_a_lapse_withdraws_pending_applications_and_a_renewal_puts_them_back(owner):
    rs, ctype = requirement_set(owner.firm)
    pool = pools.create_pool(owner, name="Insured", visibility="public",
                             requirement_set_id=rs.id)
    applicant, other = factories.technician().technician, factories.technician().technician
    cred = give_credential(applicant, ctype, expires_on=date(2030, 1, 1))
    give_credential(other, ctype, expires_on=date(2031, 1, 1))
    pools.apply(applicant, pool)
    pools.apply(other, pool)
    db.session.commit()

    cred.expires_on = date(2020, 1, 1)
    credentials_lapsed.send(None, pairs=[(applicant.id, ctype.id)], on=date(2026, 1, 1))
    db.session.commit()
    status = {m.technician_id: (m.status, m.removed_reason) for m in pools.list_members(pool)}
    assert status[applicant.id] == (PoolMemberStatus.REMOVED, pools.LAPSED_APPLICATION)
    assert status[other.id] == (PoolMemberStatus.APPLIED, None)
    assert pools.removal_label(pools.LAPSED_APPLICATION) == \
        "application withdrawn: credential lapsed"
    with pytest.raises(InvalidState):
        pools.approve_application(owner, pool, applicant.id)

    give_credential(applicant, ctype, expires_on=date(2031, 6, 1))
    credential_approved.send(None, technician_id=applicant.id, credential_type_id=ctype.id)
    db.session.commit()
    member = next(m for m in pools.list_members(pool) if m.technician_id == applicant.id)
    assert member.status == PoolMemberStatus.APPLIED   # back in the queue, not let in
    pools.approve_application(owner, pool, applicant.id)
    assert sorted(pools.active_member_ids(pool)) == [applicant.id]
