"""Stripe's list envelope, cursor pagination and `expand[]`."""
from __future__ import annotations

from typing import Any

from .store import ApiError, Store


def paginate(items: list[dict], params: dict[str, Any], url: str) -> dict:
    """`limit` (1..100, default 10), `starting_after` / `ending_before` cursors, `has_more`."""
    try:
        limit = int(params.get("limit", 10))
    except ValueError:
        raise ApiError.invalid("limit", "Invalid integer: limit") from None
    if not 1 <= limit <= 100:
        raise ApiError.invalid("limit", "This value must be between 1 and 100 (inclusive).")
    ids = [item["id"] for item in items]
    if params.get("starting_after"):
        cursor = params["starting_after"]
        if cursor not in ids:
            raise ApiError.missing("object", cursor)
        items = items[ids.index(cursor) + 1:]
    elif params.get("ending_before"):
        cursor = params["ending_before"]
        if cursor not in ids:
            raise ApiError.missing("object", cursor)
        items = items[:ids.index(cursor)][-limit:]
    return {"object": "list", "data": items[:limit], "has_more": len(items) > limit,
            "url": url}


def expand(store: Store, body: dict, paths: list[str] | str | None) -> dict:
    """Replace ids by the objects they name, along dotted paths (`data.x` walks lists)."""
    if not paths:
        return body
    if isinstance(paths, str):
        paths = [paths]
    for path in paths:
        _expand(store, body, path.split("."))
    return body


def _expand(store: Store, node: Any, parts: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _expand(store, item, parts)
        return
    if not isinstance(node, dict) or parts[0] not in node:
        raise ApiError.invalid("expand", f"This property cannot be expanded ({parts[0]}).")
    head, rest = parts[0], parts[1:]
    value = node[head]
    if isinstance(value, str) and value in store.objects:
        node[head] = value = dict(store.objects[value])
    if rest:
        _expand(store, value, rest)
