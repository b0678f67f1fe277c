"""Booked work whose technician does not meet its requirement set on its day: what the
compliance report (verify.reports) lists under "Assigned work at risk".

Each assignment is judged on its own day (the site's local date, or today for work
already under way), by the one rule (verify.compliance) composed over a table of
(assignment, day) pairs: one statement for all of a firm's booked work, as the feed
judges its candidates.
"""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Date, Integer, String, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql

from ..accounts.models import Firm, TechnicianProfile, User
from ..core import clock
from ..core.links import path_for
from ..extensions import db
from ..verify.compliance import unmet_condition
from ..verify.models import RequirementSet
from ..verify.reports import WORK_SHOWN, WorkAtRisk
from .lifecycle import BOOKED_STATES
from .matching import site_day
from .models import Assignment


def _pairs_table(dialect: str):
    """(assignment id, day) pairs from one parameter: arrays on PostgreSQL, a JSON object
    {id: "YYYY-MM-DD"} on SQLite."""
    if dialect == "postgresql":
        table = func.unnest(bindparam("ids", type_=postgresql.ARRAY(Integer)),
                            bindparam("ons", type_=postgresql.ARRAY(Date))) \
            .table_valued("id", "on").render_derived(name="c")
        return table, table.c.id, table.c.on
    table = func.json_each(bindparam("pairs", type_=String)).table_valued(
        "key", "value").alias("c")
    return table, table.c.key, table.c.value


def _failing(days: dict[int, date]) -> set[int]:
    """Of the assignments ({id: day}), those whose assignee does not meet the set that day."""
    if not days:
        return set()
    conn = db.session.connection()
    dialect = conn.dialect.name
    table, chosen_id, day = _pairs_table(dialect)
    a = Assignment
    stmt = (select(a.id).select_from(table).join(a, a.id == cast(chosen_id, Integer))
            .where(unmet_condition(a.assignee_id, a.requirement_set_id, day)))
    if dialect == "postgresql":
        params = {"ids": list(days), "ons": list(days.values())}
    else:
        params = {"pairs": json.dumps({str(k): v.isoformat() for k, v in days.items()})}
    return set(conn.execute(stmt, params).scalars())


def work_at_risk(firm_id: int | None, on: date) -> tuple[int, list[WorkAtRisk]]:
    """How many of the firm's (None: every firm's) booked, unfinished assignments with a
    requirement set have a technician who does not meet it on the work's day, and the
    first WORK_SHOWN of them, soonest first."""
    a = Assignment
    stmt = select(a.id, a.starts_at, a.timezone).where(
        a.status.in_(BOOKED_STATES), a.requirement_set_id.is_not(None),
        a.assignee_id.is_not(None), a.ends_at > clock.now())
    if firm_id is not None:
        stmt = stmt.where(a.firm_id == firm_id)
    days = {aid: max(site_day(tz, starts_at) or on, on)
            for aid, starts_at, tz in db.session.execute(stmt)}
    failing = sorted(_failing(days), key=lambda aid: (days[aid], aid))
    shown = failing[:WORK_SHOWN]
    if not shown:
        return len(failing), []
    rows = db.session.execute(
        select(a.id, a.title, a.status, a.assignee_id, User.name, a.requirement_set_id,
               RequirementSet.name, Firm.name)
        .join(TechnicianProfile, TechnicianProfile.id == a.assignee_id)
        .join(User, User.id == TechnicianProfile.user_id)
        .join(RequirementSet, RequirementSet.id == a.requirement_set_id)
        .join(Firm, Firm.id == a.firm_id)
        .where(a.id.in_(shown))).all()
    found = [WorkAtRisk(title=title, url=path_for("find.assignment", assignment_id=aid)
                        if firm_id is not None else "",
                        day=days[aid], technician_id=tid, technician_name=name, set_id=sid,
                        set_name=set_name, state=status.label, firm_name=firm_name)
             for aid, title, status, tid, name, sid, set_name, firm_name in rows]
    return len(failing), sorted(found, key=lambda w: (w.day, w.title))
