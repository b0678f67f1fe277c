"""Named signals that let an earlier stage tell later ones something changed.

The import direction is accounts <- verify <- find <- engage <- ...; a stage
never imports a later one, so it announces through these instead.
"""
from blinker import Namespace

_signals = Namespace()

# sender: technician id. Emitted after skills, location, status or rate change.
# A set-based change (the sweep's suspensions) sends once for many technicians:
# sender None, technician_ids=list[int]. Subscribers accept both forms.
technician_changed = _signals.signal("technician-changed")

# Emitted by verify inside the transaction that expires credentials (sweep).
# kwargs: pairs=list[(technician_id, credential_type_id)], on=date.
# Later stages subscribe set-based: find drops pool memberships whose pool
# requires that type; engage returns future assignments to routing.
credentials_lapsed = _signals.signal("credentials-lapsed")

# Emitted by verify when an admin approves a credential (incl. a renewal).
# kwargs: technician_id=int, credential_type_id=int.
# find reinstates the technician to pools they were removed from for it.
credential_approved = _signals.signal("credential-approved")
