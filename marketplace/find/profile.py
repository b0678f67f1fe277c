"""The technician profile page for firms and admins: public facts for anyone who may
find the technician (find.directory), then the sections stages register under
``technician_profile_sections`` (web.sections): verify's credentials, find's own
history of assignments with the firm and the admin's standing controls, engage's offers
and backouts, and (later) rate's scorecard.
"""
from __future__ import annotations

from typing import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ..accounts.audit_log import recent_for
from ..accounts.models import User
from ..accounts.policy import firm_id_of
from ..extensions import db
from ..verify import relations, standing
from ..web.sections import TECHNICIAN_PROFILE, ProfileSubject, sections_for
from . import directory
from .models import Assignment, AssignmentStatus

HISTORY_SHOWN = 10


def subject_for(viewer: User, technician_id: int,
                args: Mapping[str, str] | None = None) -> ProfileSubject:
    """Who looks at whom: the technician (a 404 unless the viewer may find them) and
    whether the viewer's firm works with them, asked once for every section."""
    tech = directory.access_technician(viewer, technician_id)
    firm_id = firm_id_of(viewer)
    works = firm_id is not None and relations.works_with(firm_id, tech.id)
    return ProfileSubject(viewer, tech, firm_id, works, dict(args or {}))


def sections(subject: ProfileSubject):
    return sections_for(TECHNICIAN_PROFILE, subject)


def assignments_section(subject: ProfileSubject) -> dict | None:
    """The firm's assignments the technician holds or held (admins: every firm's),
    newest first, with a count per state."""
    if subject.firm_id is None and not subject.viewer.is_admin:
        return None
    a = Assignment
    where = [a.assignee_id == subject.technician.id]
    if subject.firm_id is not None:
        where.append(a.firm_id == subject.firm_id)
    counts = dict(db.session.execute(select(a.status, func.count()).where(*where)
                                     .group_by(a.status)).all())
    rows = list(db.session.scalars(select(a).where(*where).options(joinedload(a.firm))
                                   .order_by(a.starts_at.desc(), a.id.desc())
                                   .limit(HISTORY_SHOWN))) if counts else []
    return {"assignments": rows, "total": sum(counts.values()),
            "by_status": [(s, counts[s]) for s in AssignmentStatus if counts.get(s)],
            "show_firm": subject.firm_id is None}


def standing_section(subject: ProfileSubject) -> dict | None:
    """For platform admins: the account's standing, suspend or reinstate, recent changes."""
    viewer, tech = subject.viewer, subject.technician
    if not viewer.is_admin:
        return None
    can_reinstate = standing.can_reinstate(viewer, tech)
    return {"can_suspend": standing.can_suspend(viewer, tech),
            "can_reinstate": can_reinstate,
            "blocker": standing.reinstate_blocker(tech) if can_reinstate else None,
            "history": recent_for(tech.__tablename__, tech.id)}
