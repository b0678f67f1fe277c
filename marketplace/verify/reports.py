"""The compliance report: for a firm, every technician it works with (verify.relations)
against each of its requirement sets, what expires in the next 30, 60 and 90 days, and
the assigned work whose technician does not meet its requirements on its day; for
platform admins, every technician against the platform's sets.

Set-based throughout: the status of many technicians against many sets is one
statement (the one rule, verify.compliance, composed over a cross join), the summary
one grouped statement, the expiry windows one more. Later stages add the work at risk
through the ``compliance_work_at_risk`` hook (verify knows no assignments).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Callable, Iterable

from flask import Flask
from sqlalchemy import ColumnElement, Select, and_, case, distinct, func, select, true
from sqlalchemy.orm import joinedload

from ..accounts.models import TechnicianProfile, User
from ..core.csvsafe import write_csv
from ..core.hooks import hooks
from ..errors import PermissionDenied, ValidationFailed
from ..extensions import db
from ..web.pagination import Page, paginate
from . import catalog, relations
from .compliance import unmet_condition
from .models import Credential, CredentialStatus, CredentialType, RequirementSet

WINDOWS = (30, 60, 90)
WORK_HOOK = "compliance_work_at_risk"
COMPLIANT, NOT_COMPLIANT = "compliant", "not_compliant"
WORK_SHOWN = 100


@dataclass
class WorkAtRisk:
    """Booked work whose technician does not meet its requirement set on its day."""
    title: str
    url: str
    day: date
    technician_id: int
    technician_name: str
    set_id: int
    set_name: str
    state: str
    firm_name: str = ""


@dataclass
class Scope:
    """Whose technicians and which sets: a firm's (firm_id), or the platform's (None)."""
    firm_id: int | None
    sets: list[RequirementSet]

    @property
    def platform(self) -> bool:
        return self.firm_id is None

    def technicians(self) -> ColumnElement[bool]:
        """SQL condition on technicians: in this report."""
        if self.firm_id is None:
            return true()
        return TechnicianProfile.id.in_(relations.technician_ids_for(self.firm_id))


def scope_for(viewer: User) -> Scope:
    """A firm member sees the firm's technicians against its and the platform's sets
    (the ones it can put on work); an admin sees every technician, platform sets."""
    if viewer.is_admin:
        return Scope(None, catalog.list_requirement_sets(viewer))
    if viewer.is_firm_user:
        return Scope(viewer.membership.firm_id, catalog.list_requirement_sets(viewer))
    raise PermissionDenied("The compliance report is for firms and platform admins.")


def register_work_at_risk(app: Flask,
                          source: Callable[[int | None, date], tuple[int, list[WorkAtRisk]]]
                          ) -> None:
    """A later stage adds booked work at risk: `source(firm_id, on)` returns how many
    there are and the first WORK_SHOWN of them, soonest first."""
    hooks(app).add(WORK_HOOK, source)


# --- the one statement per question ------------------------------------------------

def statuses(technician_ids: Iterable[int], set_ids: Iterable[int],
             on: date) -> dict[tuple[int, int], bool]:
    """{(technician, set): compliant on `on`} for every pair, in one statement."""
    tids, sids = sorted(set(technician_ids)), sorted(set(set_ids))
    if not tids or not sids:
        return {}
    ok = ~unmet_condition(TechnicianProfile.id, RequirementSet.id, on)
    rows = db.session.execute(
        select(TechnicianProfile.id, RequirementSet.id, ok)
        .select_from(TechnicianProfile).join(RequirementSet, true())
        .where(TechnicianProfile.id.in_(tids), RequirementSet.id.in_(sids)))
    return {(tid, sid): bool(good) for tid, sid, good in rows}


def set_summary(scope: Scope, on: date) -> dict[int, tuple[int, int]]:
    """{set id: (compliant, technicians)} over the whole scope, one grouped statement."""
    if not scope.sets:
        return {}
    ok = ~unmet_condition(TechnicianProfile.id, RequirementSet.id, on)
    rows = db.session.execute(
        select(RequirementSet.id, func.count(), func.sum(case((ok, 1), else_=0)))
        .select_from(TechnicianProfile).join(RequirementSet, true())
        .where(scope.technicians(), RequirementSet.id.in_([s.id for s in scope.sets]))
        .group_by(RequirementSet.id))
    found = {sid: (int(good or 0), int(total)) for sid, total, good in rows}
    return {s.id: found.get(s.id, (0, 0)) for s in scope.sets}


def _expiring(on: date, days: int):
    return and_(Credential.status == CredentialStatus.APPROVED,
                Credential.expires_on >= on, Credential.expires_on <= on + timedelta(days=days))


def expiring_counts(scope: Scope, on: date) -> dict[int, tuple[int, int]]:
    """{window: (credentials, technicians)} expiring within each window, one statement."""
    columns = []
    for days in WINDOWS:
        hit = _expiring(on, days)
        columns += [func.sum(case((hit, 1), else_=0)),
                    func.count(distinct(case((hit, Credential.technician_id))))]
    row = db.session.execute(
        select(*columns).select_from(Credential)
        .join(TechnicianProfile, TechnicianProfile.id == Credential.technician_id)
        .where(scope.technicians(), _expiring(on, max(WINDOWS)))).one()
    return {days: (int(row[2 * i] or 0), int(row[2 * i + 1] or 0))
            for i, days in enumerate(WINDOWS)}


def next_expiry(technician_ids: Iterable[int] | None, on: date, scope: Scope | None = None
                ) -> dict[int, tuple[str, date]]:
    """{technician: (credential type, date)} of the soonest approved credential still to
    expire, for the given technicians (or the whole scope), in one statement."""
    base = select(Credential.technician_id, func.min(Credential.expires_on).label("soonest")) \
        .where(Credential.status == CredentialStatus.APPROVED, Credential.expires_on >= on)
    if technician_ids is not None:
        ids = sorted(set(technician_ids))
        if not ids:
            return {}
        base = base.where(Credential.technician_id.in_(ids))
    else:
        base = base.join(TechnicianProfile, TechnicianProfile.id == Credential.technician_id) \
            .where(scope.technicians())
    soonest = base.group_by(Credential.technician_id).subquery("soonest")
    rows = db.session.execute(
        select(Credential.technician_id, CredentialType.name, Credential.expires_on)
        .join(soonest, and_(soonest.c.technician_id == Credential.technician_id,
                            soonest.c.soonest == Credential.expires_on))
        .join(CredentialType, CredentialType.id == Credential.credential_type_id)
        .where(Credential.status == CredentialStatus.APPROVED)
        .order_by(Credential.technician_id, CredentialType.name))
    found: dict[int, tuple[str, date]] = {}
    for tid, name, expires in rows:
        found.setdefault(tid, (name, expires))
    return found


def work_at_risk(scope: Scope, on: date) -> tuple[int, list[WorkAtRisk]]:
    total, rows = 0, []
    for source in hooks().get(WORK_HOOK):
        count, found = source(scope.firm_id, on)
        total += count
        rows += found
    return total, sorted(rows, key=lambda w: (w.day, w.title))[:WORK_SHOWN]


# --- what the page lists ------------------------------------------------------------

@dataclass(frozen=True)
class ReportFilter:
    """Which technicians the list shows: all, those (not) meeting a set, or the
    credentials expiring within a window."""
    set_id: int | None = None
    status: str = ""
    expiring: int | None = None

    @classmethod
    def from_args(cls, args, scope: Scope) -> "ReportFilter":
        fields = {}
        set_id = status = None
        expiring = None
        raw_set = (args.get("set") or "").strip()
        if raw_set:
            if not raw_set.isdigit() or int(raw_set) not in {s.id for s in scope.sets}:
                fields["set"] = "Choose one of the requirement sets in this report."
            else:
                set_id = int(raw_set)
        status = (args.get("status") or "").strip()
        if status and status not in (COMPLIANT, NOT_COMPLIANT):
            fields["status"] = "Show those who meet the set or those who do not."
        if status and set_id is None and "set" not in fields:
            fields["set"] = "Choose the requirement set to check against."
        raw_days = (args.get("expiring") or "").strip()
        if raw_days:
            if raw_days not in {str(d) for d in WINDOWS}:
                fields["expiring"] = "Choose 30, 60 or 90 days."
            else:
                expiring = int(raw_days)
        if fields:
            raise ValidationFailed("Check the report's filters.", fields=fields)
        return cls(set_id=set_id, status=status or "", expiring=expiring)


def technicians_stmt(scope: Scope, on: date, chosen: ReportFilter | None = None) -> Select:
    stmt = (select(TechnicianProfile).join(User, User.id == TechnicianProfile.user_id)
            .options(joinedload(TechnicianProfile.user))
            .where(scope.technicians()).order_by(User.name, TechnicianProfile.id))
    if chosen is not None and chosen.set_id is not None and chosen.status:
        unmet = unmet_condition(TechnicianProfile.id, chosen.set_id, on)
        stmt = stmt.where(unmet if chosen.status == NOT_COMPLIANT else ~unmet)
    return stmt


def expiring_stmt(scope: Scope, on: date, days: int) -> Select:
    return (select(Credential)
            .join(TechnicianProfile, TechnicianProfile.id == Credential.technician_id)
            .join(User, User.id == TechnicianProfile.user_id)
            .options(joinedload(Credential.credential_type),
                     joinedload(Credential.technician).joinedload(TechnicianProfile.user))
            .where(scope.technicians(), _expiring(on, days))
            .order_by(Credential.expires_on, User.name, Credential.id))


@dataclass
class Report:
    scope: Scope
    on: date
    chosen: ReportFilter
    summary: dict[int, tuple[int, int]]
    expiring: dict[int, tuple[int, int]]
    work_total: int
    work: list[WorkAtRisk]
    page: Page
    matrix: dict[tuple[int, int], bool] = field(default_factory=dict)
    soonest: dict[int, tuple[str, date]] = field(default_factory=dict)
    technicians: int = 0

    @property
    def chosen_set(self) -> RequirementSet | None:
        return next((s for s in self.scope.sets if s.id == self.chosen.set_id), None)


def build_report(scope: Scope, on: date, chosen: ReportFilter, page: int,
                 per_page: int) -> Report:
    summary = set_summary(scope, on)
    if chosen.expiring:
        listed = paginate(expiring_stmt(scope, on, chosen.expiring), page, per_page)
        ids = [c.technician_id for c in listed.items]
    else:
        listed = paginate(technicians_stmt(scope, on, chosen), page, per_page)
        ids = [t.id for t in listed.items]
    total, work = work_at_risk(scope, on)
    technicians = db.session.scalar(select(func.count()).select_from(TechnicianProfile)
                                    .where(scope.technicians())) or 0
    return Report(scope=scope, on=on, chosen=chosen, summary=summary,
                  expiring=expiring_counts(scope, on), work_total=total, work=work,
                  page=listed, matrix=statuses(ids, [s.id for s in scope.sets], on),
                  soonest=next_expiry(ids, on), technicians=technicians)


CSV_FIXED = ["Technician id", "Name", "City", "State", "Account status"]


def report_csv(scope: Scope, on: date) -> str:
    """Every technician of the report, one row each: the status against each set and
    the next credential to expire. Names and places are the technicians' own text,
    so every cell goes through write_csv."""
    techs = db.session.execute(
        select(TechnicianProfile.id, User.name, TechnicianProfile.city, TechnicianProfile.state,
               TechnicianProfile.status)
        .join(User, User.id == TechnicianProfile.user_id)
        .where(scope.technicians()).order_by(User.name, TechnicianProfile.id)).all()
    set_ids = [s.id for s in scope.sets]
    ok = ~unmet_condition(TechnicianProfile.id, RequirementSet.id, on)
    matrix = {(tid, sid): bool(good) for tid, sid, good in db.session.execute(
        select(TechnicianProfile.id, RequirementSet.id, ok)
        .select_from(TechnicianProfile).join(RequirementSet, true())
        .where(scope.technicians(), RequirementSet.id.in_(set_ids)))} if set_ids else {}
    soonest = next_expiry(None, on, scope)
    header = CSV_FIXED + [f"Meets: {s.name}" for s in scope.sets] + \
        ["Next to expire", "Expires on"]
    rows = []
    for tid, name, city, state, status in techs:
        name_next, when = soonest.get(tid, (None, None))
        rows.append([tid, name, city, state, status.value]
                    + ["yes" if matrix.get((tid, sid)) else "no" for sid in set_ids]
                    + [name_next, when.isoformat() if when else None])
    return write_csv(rows, header)
