"""Who may act for a firm: membership, roles and the dispatcher's budget limit.

The one place these rules live. Services raise with their own words through the
`message` arguments; views and templates ask the same functions for their answers.
"""
from __future__ import annotations

from ..errors import PermissionDenied
from .models import Membership, Role, User

# The roles that run the firm's setup: the team, the catalog, requirement sets.
MANAGERS = (Role.OWNER, Role.MANAGER)


def firm_id_of(user: User | None) -> int | None:
    """The firm the user acts for; None for technicians, admins and anonymous users."""
    if user is None or not getattr(user, "is_firm_user", False):
        return None
    return user.membership.firm_id


def is_member(user: User | None, firm_id: int | None = None, *roles: Role) -> bool:
    """A member of `firm_id` (of any firm when None) holding one of `roles` (any role
    when none are given)."""
    own = firm_id_of(user)
    if own is None or (firm_id is not None and own != firm_id):
        return False
    return not roles or user.membership.role in roles


def require_member(user: User | None, firm_id: int | None = None, *roles: Role,
                   message: str = "Only the firm's members can do that.") -> Membership:
    """The user's membership, or PermissionDenied(message) when `is_member` says no."""
    if not is_member(user, firm_id, *roles):
        raise PermissionDenied(message)
    return user.membership


def budget_limit_cents(user: User | None, firm_id: int) -> int | None:
    """The most the user may commit to one of `firm_id`'s assignments; None for no limit.

    Only dispatchers carry a limit. Whether the user may act for the firm at all is
    `require_member`'s answer, asked first."""
    if not is_member(user, firm_id, Role.DISPATCHER):
        return None
    return user.membership.budget_limit_cents


def exceeds_budget_limit(user: User | None, firm_id: int, total_cents: int) -> bool:
    limit = budget_limit_cents(user, firm_id)
    return limit is not None and total_cents > limit


def check_budget_limit(user: User | None, firm_id: int, total_cents: int, *,
                       message: str = "That is above your budget limit; ask a manager.") -> None:
    """PermissionDenied(message) when `total_cents` is above the user's budget limit."""
    if exceeds_budget_limit(user, firm_id, total_cents):
        raise PermissionDenied(message)
