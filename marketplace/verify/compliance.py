"""The one answer to "is technician T compliant with requirement set S on day d?".

A credential satisfies a requirement item when it is of that type, valid on
day d (verify.validity) and, where the item asks for it, covers at least the
minimum amount. Everything else (matching, pools, accepting work, the sweep)
asks here. Later stages add conditions a set can carry (rate: minimum scores) on the
``requirement_conditions`` hook: each has ``unmet(set_id, technician_id)`` (SQL, ORed
with the items' rule), ``asks(set_id)`` and ``explain(technician_id, set_id)``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

from flask import Flask, has_app_context
from sqlalchemy import and_, bindparam, func, or_, select

from ..accounts.models import TechnicianProfile
from ..core.hooks import hooks
from ..core.money import format_money
from ..extensions import db
from .models import Credential, CredentialStatus, CredentialType, RequirementItem
from .validity import is_valid_on, valid_on


@dataclass
class ComplianceResult:
    compliant: bool
    failures: list[str] = field(default_factory=list)


def _satisfies(on: date):
    """SQL condition: credential row satisfies the joined requirement item on `on`."""
    return and_(
        Credential.credential_type_id == RequirementItem.credential_type_id,
        valid_on(on),
        or_(RequirementItem.min_coverage_cents.is_(None),
            Credential.coverage_cents >= RequirementItem.min_coverage_cents),
    )


CONDITIONS = "requirement_conditions"


def register_condition(app: Flask, condition) -> None:
    hooks(app).add(CONDITIONS, condition)


def _conditions() -> list:
    return hooks().get(CONDITIONS) if has_app_context() else []


def _unmet(requirement_set_id, on, technician_id):
    """SQL condition: some item of the set has no credential of `technician_id`
    satisfying it on `on` (or a registered condition is unmet). The one rule, read as
    index probes per item."""
    satisfied = (select(Credential.id)
                 .where(Credential.technician_id == technician_id, _satisfies(on))
                 .correlate_except(Credential).exists())
    items = (select(RequirementItem.id)
             .where(RequirementItem.requirement_set_id == requirement_set_id, ~satisfied)
             .exists())
    extra = [c.unmet(requirement_set_id, technician_id) for c in _conditions()]
    return or_(items, *extra) if extra else items


def compliant_ids(requirement_set_id: int | None, on: date,
                  technician_ids: Iterable[int] | None = None) -> set[int] | None:
    """The technicians (of `technician_ids`, if given) compliant on `on`, set-based.

    Returns None when there is nothing to comply with (no set, or an empty one),
    meaning "everyone".
    """
    if requirement_set_id is None:
        return None
    needed = db.session.scalar(select(func.count()).select_from(RequirementItem).where(
        RequirementItem.requirement_set_id == requirement_set_id)) or 0
    if needed == 0 and not any(c.asks(requirement_set_id) for c in _conditions()):
        return None
    stmt = select(TechnicianProfile.id).where(
        ~_unmet(requirement_set_id, on, TechnicianProfile.id))
    if technician_ids is not None:
        ids = list(technician_ids)
        if not ids:
            return set()
        stmt = stmt.where(TechnicianProfile.id.in_(ids))
    return set(db.session.scalars(stmt))


def check(technician_id: int, requirement_set_id: int | None, on: date) -> ComplianceResult:
    """Compliance of one technician, with a reason for every unmet item."""
    if requirement_set_id is None:
        return ComplianceResult(True)
    items = db.session.execute(
        select(RequirementItem, CredentialType)
        .join(CredentialType, CredentialType.id == RequirementItem.credential_type_id)
        .where(RequirementItem.requirement_set_id == requirement_set_id)
        .order_by(CredentialType.name)).all()
    failures = []
    for item, ctype in items:
        creds = list(db.session.scalars(
            select(Credential).where(Credential.technician_id == technician_id,
                                     Credential.credential_type_id == ctype.id,
                                     Credential.status.in_([CredentialStatus.APPROVED,
                                                            CredentialStatus.EXPIRED]))
            .order_by(Credential.expires_on.desc().nulls_first())))
        failures.extend(_explain(ctype, item, creds, on))
    for condition in _conditions():
        failures.extend(condition.explain(technician_id, requirement_set_id))
    return ComplianceResult(not failures, failures)


def _explain(ctype: CredentialType, item: RequirementItem, creds: list[Credential],
             on: date) -> list[str]:
    usable = [c for c in creds if is_valid_on(c, on)]
    if not creds:
        return [f"{ctype.name} is missing."]
    if not usable:
        latest = creds[0]
        return [f"{ctype.name} expired {latest.expires_on.isoformat()}."
                if latest.expires_on else f"{ctype.name} is not approved."]
    if item.min_coverage_cents is not None and \
            max((c.coverage_cents or 0) for c in usable) < item.min_coverage_cents:
        return [f"{ctype.name} covers less than the required "
                f"{format_money(item.min_coverage_cents)}."]
    return []


def unmet_condition(technician_id, requirement_set_id=None, on=None):
    """The same rule as compliant_ids, as a composable SQL condition: `technician_id`
    is NOT compliant with the set on the day. Each argument is a column or an
    expression; the set and the day default to the bind parameters
    `requirement_set_id` and `on`. An empty set asks nothing, so nobody fails it.
    Callers that run many checks (matching, the feed) compose this into one
    statement, compiled once.
    """
    return _unmet(bindparam("requirement_set_id") if requirement_set_id is None
                  else requirement_set_id,
                  bindparam("on") if on is None else on, technician_id)
