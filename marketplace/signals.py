"""Named signals that let an earlier stage tell later ones something changed.

The import direction is accounts <- verify <- find <- engage <- ...; a stage
never imports a later one, so it announces through these instead.
"""
from blinker import Namespace

_signals = Namespace()

# sender: technician id. Emitted after skills, location, status or rate change.
technician_changed = _signals.signal("technician-changed")
