"""The one answer to "is this credential valid on day d?".

Valid: approved, and not expired on d (a credential is valid through its expiry
date; one without an expiry date never expires). As SQL for the set-based
callers (compliance, the sweep) and as Python for a credential in hand.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, or_

from .models import Credential, CredentialStatus


def valid_on(on):
    """SQL condition on the credentials table: valid on `on` (a date or an expression)."""
    return and_(Credential.status == CredentialStatus.APPROVED,
                or_(Credential.expires_on.is_(None), Credential.expires_on >= on))


def past_expiry(on):
    """SQL condition: the expiry date is before `on`, so the credential is not valid on
    `on` whatever its status (the sweep expires approved ones that are)."""
    return Credential.expires_on < on


def is_valid_on(cred: Credential, on: date) -> bool:
    return cred.status == CredentialStatus.APPROVED and not is_past_expiry(cred, on)


def is_past_expiry(cred: Credential, on: date) -> bool:
    return cred.expires_on is not None and cred.expires_on < on


# Days before expiry on which the holder is reminded (the sweep; the review queue's urgency).
REMINDER_DAYS = (30, 7, 1)
