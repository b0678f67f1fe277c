"""Personal API tokens: random, shown once, stored only as a SHA-256 hash."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core import audit, clock
from ..core.actions import Action
from ..errors import InvalidState, ValidationFailed
from ..extensions import db
from .models import ApiToken, User, with_role
from .policy import firm_id_of

TOKEN_PREFIX = "mp_"
LAST_USED_GRANULARITY = timedelta(minutes=1)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed.field("name", "Name the token after what will use it.")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name[:80], prefix=raw[:10],
                     token_hash=hash_token(raw))
    db.session.add(token)
    db.session.flush()
    audit.record(Action.API_TOKEN_ISSUED, token, actor=user, firm_id=firm_id_of(user),
                 after={"name": token.name, "prefix": token.prefix})
    return token, raw


def revoke_api_token(user: User, token: ApiToken) -> None:
    if token.revoked_at is not None:
        raise InvalidState("This token is already revoked.")
    token.revoked_at = clock.now()
    audit.record(Action.API_TOKEN_REVOKED, token, actor=user, firm_id=firm_id_of(user))


def authenticate_token(raw: str) -> User | None:
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw))
                              .options(*(joinedload(ApiToken.user).options(option)
                                         for option in with_role())))
    if token is None or token.revoked_at is not None or not token.user.is_enabled:
        return None
    now = clock.now()
    # Recorded in the request's own transaction, at most once a minute per token.
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_GRANULARITY:
        token.last_used_at = now
    return token.user


def list_api_tokens(user: User) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc())))
