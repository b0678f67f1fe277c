"""Verify's section of the technician profile: the credentials as the viewer may see
them (firms: the firm view, only when they work with the technician; admins: all),
whether the technician meets each of the viewer's requirement sets today, and the
reasons for one of them (?set=)."""
from __future__ import annotations

from ..core import clock
from . import catalog, compliance, reports, submissions


def credentials_section(subject) -> dict:
    tech, viewer = subject.technician, subject.viewer
    if not subject.may_see_private:
        return {"hidden": True}
    today = clock.today()
    sets = catalog.list_requirement_sets(viewer)
    met = reports.statuses([tech.id], [s.id for s in sets], today)
    chosen = next((s for s in sets if str(s.id) == str(subject.args.get("set", ""))), None)
    return {"hidden": False, "admin": viewer.is_admin,
            "credentials": submissions.list_for_technician(tech, for_firm=not viewer.is_admin),
            "sets": [(s, met.get((tech.id, s.id), False)) for s in sets],
            "chosen": chosen,
            "result": compliance.check(tech.id, chosen.id, today) if chosen else None}
