"""A firm's arrival and geofence rules."""
from __future__ import annotations

from ..accounts.models import Role, User
from ..accounts.policy import require_member
from ..core import audit
from ..core.actions import Action
from ..errors import ValidationFailed
from ..extensions import db
from .geofence import DEFAULTS, forget_settings
from .models import ManageSettings

BOUNDS = {"early_minutes": (0, 240), "late_minutes": (0, 240), "geofence_m": (25, 5000),
          "sla_warning_minutes": (1, 1440)}


def for_firm(firm_id: int) -> ManageSettings:
    return db.session.get(ManageSettings, firm_id) or ManageSettings(
        firm_id=firm_id, early_minutes=DEFAULTS.early_minutes,
        late_minutes=DEFAULTS.late_minutes, geofence_m=DEFAULTS.geofence_m,
        sla_warning_minutes=DEFAULTS.sla_warning_minutes)


def save(user: User, data) -> ManageSettings:
    membership = require_member(user, None, Role.OWNER, Role.MANAGER,
                                message="Owners and managers set these rules.")
    values, errors = {}, {}
    for name, (low, high) in BOUNDS.items():
        raw = data.get(name)
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            errors[name] = "Enter a whole number."
            continue
        if not low <= value <= high:
            errors[name] = f"Between {low} and {high}."
        values[name] = value
    if errors:
        raise ValidationFailed("Some settings need attention.", fields=errors)
    row = db.session.get(ManageSettings, membership.firm_id)
    if row is None:
        row = ManageSettings(firm_id=membership.firm_id, **values)
        db.session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    db.session.flush()
    forget_settings()
    audit.record(Action.MANAGE_SETTINGS_SAVED, subject_type="manage_settings",
                 subject_id=membership.firm_id, actor=user, firm_id=membership.firm_id,
                 after=values)
    return row
