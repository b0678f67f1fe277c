"""Tenant-isolation registry: each stage says how to make objects owned by "firm A".

A module here defines `build(world)` (adds firm A / technician A objects to
`world`, a dict) and `PARAMS` (URL parameter name -> function(world) -> id).
The walker in tests/test_tenant_isolation.py visits every registered route as
a user of another firm and as another technician, with firm A's ids.
"""
import importlib
import pkgutil


def modules():
    return [importlib.import_module(f"{__name__}.{m.name}")
            for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")]
