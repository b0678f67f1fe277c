"""How gunicorn serves the app: the settings it reads from the repository's root."""
from __future__ import annotations

import gc
import os
import runpy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_a_worker_sets_what_it_built_at_start_aside_from_the_collector():
    settings = runpy.run_path(os.path.join(ROOT, "gunicorn.conf.py"))
    assert gc.get_freeze_count() == 0
    try:
        settings["post_worker_init"](None)
        # Everything alive when the worker started serving, the app included.
        assert gc.get_freeze_count() > 10_000
        assert gc.get_count()[2] == 0
    finally:
        gc.unfreeze()
