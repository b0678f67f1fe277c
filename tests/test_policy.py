"""accounts.policy: firm membership, roles and the dispatcher's budget limit, in one place."""
from __future__ import annotations

import pytest

from marketplace.accounts import policy
from marketplace.accounts.models import Role
from marketplace.errors import PermissionDenied
from marketplace.extensions import db
from tests import factories


def test_membership_and_roles_are_answered_per_firm(ctx):
    owner = factories.firm_user(Role.OWNER)
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.firm)
    stranger = factories.firm_user(Role.OWNER)
    tech, admin = factories.technician(), factories.admin()
    firm_id = owner.firm.id
    assert [policy.firm_id_of(u) for u in (owner, dispatcher, tech, admin, None)] == \
        [firm_id, firm_id, None, None, None]
    assert policy.is_member(owner, firm_id) and policy.is_member(dispatcher)
    assert policy.is_member(owner, firm_id, *policy.MANAGERS)
    assert not policy.is_member(dispatcher, firm_id, *policy.MANAGERS)
    assert not policy.is_member(stranger, firm_id)
    assert not policy.is_member(tech) and not policy.is_member(admin)
    assert policy.require_member(dispatcher, firm_id).firm_id == firm_id
    with pytest.raises(PermissionDenied, match="Only the firm can route"):
        policy.require_member(stranger, firm_id, message="Only the firm can route.")


def test_budget_limit_binds_only_dispatchers_of_that_firm(ctx):
    owner = factories.firm_user(Role.OWNER)
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=owner.firm)
    unlimited = factories.firm_user(Role.DISPATCHER, firm=owner.firm)
    dispatcher.membership.budget_limit_cents = 50_000
    owner.membership.budget_limit_cents = 1  # ignored: only dispatchers carry a limit
    db.session.commit()
    firm_id = owner.firm.id
    assert policy.budget_limit_cents(dispatcher, firm_id) == 50_000
    assert policy.budget_limit_cents(dispatcher, firm_id + 1) is None
    assert policy.budget_limit_cents(owner, firm_id) is None
    assert policy.budget_limit_cents(unlimited, firm_id) is None
    assert not policy.exceeds_budget_limit(dispatcher, firm_id, 50_000)
    assert policy.exceeds_budget_limit(dispatcher, firm_id, 50_001)
    assert not policy.exceeds_budget_limit(owner, firm_id, 10**9)
    policy.check_budget_limit(dispatcher, firm_id, 50_000)
    with pytest.raises(PermissionDenied, match="ask a manager to publish"):
        policy.check_budget_limit(dispatcher, firm_id, 50_001,
                                  message="This budget is above your limit; ask a manager "
                                          "to publish.")
