"""Role checks and permission-checked loaders: the only way views fetch by id.

A loader returns the object or raises NotFound: another firm's object is
indistinguishable from one that does not exist, so ids do not leak.
"""
from __future__ import annotations

from functools import wraps
from typing import Callable

from flask_login import current_user

from ..errors import NotFound, PermissionDenied, Unauthenticated
from ..extensions import db
from .models import ApiToken, Invitation, Membership, Role, User
from .policy import is_member


def _require(check: Callable[[User], bool], message: str):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                raise Unauthenticated()
            if not check(current_user):
                raise PermissionDenied(message)
            return view(*args, **kwargs)
        return wrapped
    return decorator


def firm_required(*roles: Role):
    """Only members of a firm (optionally with one of `roles`)."""
    def check(user: User) -> bool:
        return is_member(user, None, *roles)
    label = " or ".join(r.label for r in roles) if roles else "firm members"
    return _require(check, f"This page is for {label}.")


technician_required = _require(lambda u: u.is_technician and u.technician is not None,
                               "This page is for technicians.")
admin_required = _require(lambda u: u.is_admin, "This page is for platform admins.")
login_required = _require(lambda u: True, "")


def access_membership(user: User, member_id: int) -> Membership:
    member = db.session.get(Membership, member_id)
    if member is None or not is_member(user, member.firm_id):
        raise NotFound()
    return member


def access_invitation(user: User, invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or not is_member(user, invitation.firm_id):
        raise NotFound()
    return invitation


def access_api_token(user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound()
    return token
