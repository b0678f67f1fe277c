"""Stripe's wire format in: form-encoded bodies and query strings with nested keys
(`metadata[ref]=x`, `expand[0]=balance_transaction`, `a[b][c]=v`)."""
from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl

_PART = re.compile(r"\[([^\]]*)\]")


def parse(raw: str) -> dict[str, Any]:
    """Nested dicts from bracketed keys; dicts whose keys are all indexes become lists."""
    root: dict[str, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        head = key.split("[", 1)[0]
        parts = [head] + _PART.findall(key[len(head):])
        node = root
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"Invalid nested key {key!r}")
        node[parts[-1] if parts[-1] != "" else str(len(node))] = value
    return _listify(root)


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    node = {k: _listify(v) for k, v in node.items()}
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


def fingerprint(params: dict[str, Any]) -> str:
    """A stable text of the parameters: the same request gives the same text."""
    import json
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def as_bool(value: Any) -> bool:
    return str(value).lower() == "true"
