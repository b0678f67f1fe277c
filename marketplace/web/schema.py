"""The one JSON-shape validator, and builders for the schemas it reads.

A request schema is written once, next to its view, in a subset of JSON Schema
(as OpenAPI 3.0 spells it): type (with nullable), required, properties,
additionalProperties, minimum/maximum, minLength/maxLength, enum, items,
minItems/maxItems, maxProperties, pattern and anyOf. The same dict is published in the
OpenAPI document as the request body and checked here, so what clients are told
is what the server enforces. `format`, `description` and `example` are notes for
readers and are not checked (the services parse dates and times).

One rule holds for every string whatever its schema: no unpaired surrogates, no
NUL and no other control characters but tab, line feed and carriage return
(which single-line fields refuse too, through the pattern `line()` publishes).
Object keys are strings like any other; `x-key-pattern` (an OpenAPI extension)
constrains the keys of a map, and `x-error` words the reason an `anyOf` fails.
"""
from __future__ import annotations

import math
import re
from typing import Any

from ..core import money
from ..errors import ValidationFailed

MAX_ID = 2**31 - 1            # ids are 32-bit integers on every backend
MAX_CENTS = money.MAX_CENTS    # a price, rate, fee or expense (core/money)
MAX_INT = 2**31 - 1           # any other integer column
MAX_DEPTH = 64                # how deeply a JSON body may nest

SINGLE_LINE = r"^[^\x00-\x1f\x7f]*$"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PATTERNS: dict[str, re.Pattern] = {}
_TYPE_NAMES = {"integer": "a whole number", "number": "a number", "string": "text",
               "boolean": "true or false", "array": "a list", "object": "an object"}


# --- builders ------------------------------------------------------------------------

def _with(schema: dict, extra: dict) -> dict:
    schema.update(extra)
    return {k: v for k, v in schema.items() if v is not None}


def integer(minimum: int | None = None, maximum: int | None = MAX_INT, **extra) -> dict:
    return _with({"type": "integer", "minimum": minimum, "maximum": maximum}, extra)


def ident(description: str | None = None, **extra) -> dict:
    """The id of a row: 1 to 2^31-1."""
    return integer(1, MAX_ID, description=description, **extra)


def cents(maximum: int = MAX_CENTS, *, minimum: int = 0, **extra) -> dict:
    """An amount in cents (a whole number; true and false are not numbers)."""
    return integer(minimum, maximum, **extra)


def number(minimum: float | None = None, maximum: float | None = None, **extra) -> dict:
    return _with({"type": "number", "minimum": minimum, "maximum": maximum}, extra)


def line(max_length: int, min_length: int | None = None, **extra) -> dict:
    """Single-line text: no control characters at all."""
    return _with({"type": "string", "minLength": min_length, "maxLength": max_length,
                  "pattern": SINGLE_LINE}, extra)


def text(max_length: int, min_length: int | None = None, **extra) -> dict:
    """Long text: tab, line feed and carriage return allowed."""
    return _with({"type": "string", "minLength": min_length, "maxLength": max_length}, extra)


def choice(values, **extra) -> dict:
    return _with({"type": "string", "enum": [getattr(v, "value", v) for v in values]}, extra)


def boolean(**extra) -> dict:
    return _with({"type": "boolean"}, extra)


def array(items: dict, max_items: int, **extra) -> dict:
    return _with({"type": "array", "items": items, "maxItems": max_items}, extra)


def obj(properties: dict, required=(), *, additional: bool | dict = False, **extra) -> dict:
    """An object; unknown fields are refused unless `additional` says otherwise."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    schema["additionalProperties"] = additional
    return _with(schema, extra)


def nullable(schema: dict) -> dict:
    return {**schema, "nullable": True}


# --- checking --------------------------------------------------------------------------

def check(schema: dict, value: Any) -> Any:
    """`value` if it fits `schema`, else ValidationFailed naming every field that does not."""
    errors = validate(schema, value)
    if not errors:
        return value
    if "" in errors:
        raise ValidationFailed(errors[""])
    raise ValidationFailed("Check " + ", ".join(sorted(errors)) + ".", fields=errors)


def validate(schema: dict, value: Any, path: str = "") -> dict[str, str]:
    """Field path ('title', 'stages[0].target', 'skills.12') -> the first reason it fails."""
    errors: dict[str, str] = {}
    _check(schema, value, path, errors)
    _check_strings(value, path, errors)
    return errors


def _check_strings(value: Any, path: str, errors: dict[str, str]) -> None:
    """The rule for every string, in parts of a value no schema describes in detail too."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            bad = _bad_string(item)
            if bad:
                errors.setdefault(where, bad)
        elif isinstance(item, list):
            stack.extend((child, _child(where, i)) for i, child in enumerate(item))
        elif isinstance(item, dict):
            for key, child in item.items():
                name = _child(where, _printable(key))
                bad = _bad_string(key)
                if bad:
                    errors.setdefault(name, "A key: " + bad[0].lower() + bad[1:])
                else:
                    stack.append((child, name))


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _printable(key: str) -> str:
    """A key fit to name in an error (an unpaired surrogate or a control character is escaped)."""
    if key == "":
        return '""'
    if len(key) > 80:
        key = key[:80] + "..."
    return key.encode("unicode_escape").decode("ascii") if _bad_string(key) else key


def _bad_string(value: str) -> str | None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "Text must be valid Unicode (an unpaired surrogate was sent)."
    if "\x00" in value:
        return "Text cannot contain NUL characters."
    if _CONTROL.search(value):
        return "Text cannot contain control characters."
    return None


def _is_type(kind: str, value: Any) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return (isinstance(value, int) and not isinstance(value, bool)) or \
            (isinstance(value, float) and math.isfinite(value))
    return isinstance(value, {"string": str, "boolean": bool, "array": list,
                              "object": dict}[kind])


def _range_text(schema: dict) -> str:
    lo, hi = schema.get("minimum"), schema.get("maximum")
    if lo is not None and hi is not None:
        return f" from {lo} to {hi}"
    if lo is not None:
        return f" of at least {lo}"
    if hi is not None:
        return f" of at most {hi}"
    return ""


def _pattern(source: str) -> re.Pattern:
    if source not in _PATTERNS:
        _PATTERNS[source] = re.compile(source)
    return _PATTERNS[source]


def _check(schema: dict, value: Any, path: str, errors: dict[str, str]) -> None:
    def fail(reason: str) -> None:
        errors.setdefault(path, reason)

    if value is None:
        if not schema.get("nullable") and {"type", "enum", "anyOf"} & set(schema):
            fail("Send a value (null is not accepted here).")
        return
    if "anyOf" in schema:
        if all(validate(option, value) for option in schema["anyOf"]):
            fail(schema.get("x-error", "Not in any of the accepted shapes."))
        return
    kind = schema.get("type")
    if kind is not None and not _is_type(kind, value):
        if kind in ("integer", "number"):
            fail(f"Send {_TYPE_NAMES[kind]}{_range_text(schema)}.")
        elif path == "":
            fail(f"Send {_TYPE_NAMES[kind]} as the body (Content-Type: application/json).")
        else:
            fail(f"Send {_TYPE_NAMES[kind]}.")
        return
    if isinstance(value, str):
        bad = _bad_string(value)
        if bad:
            return fail(bad)
    if "enum" in schema and value not in schema["enum"]:
        return fail("Use one of: " + ", ".join(map(str, schema["enum"])) + ".")
    if kind in ("integer", "number"):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            fail(f"Send {_TYPE_NAMES[kind]}{_range_text(schema)}.")
    elif kind == "string":
        if len(value) > schema.get("maxLength", math.inf):
            return fail(f"At most {schema['maxLength']} characters.")
        if len(value) < schema.get("minLength", 0):
            return fail(f"At least {schema['minLength']} character"
                        f"{'s' if schema['minLength'] > 1 else ''}.")
        if "pattern" in schema and not _pattern(schema["pattern"]).search(value):
            fail("Single-line text only (no tabs, line breaks or control characters)."
                 if schema["pattern"] == SINGLE_LINE else "Not in the expected format.")
    elif kind == "array":
        if len(value) > schema.get("maxItems", math.inf):
            return fail(f"At most {schema['maxItems']} items.")
        if len(value) < schema.get("minItems", 0):
            return fail(f"At least {schema['minItems']} item"
                        f"{'s' if schema['minItems'] > 1 else ''}.")
        if "items" in schema:
            for i, item in enumerate(value):
                _check(schema["items"], item, _child(path, i), errors)
    elif kind == "object":
        _check_object(schema, value, path, errors)


def _check_object(schema: dict, value: dict, path: str, errors: dict[str, str]) -> None:
    if len(value) > schema.get("maxProperties", math.inf):
        errors.setdefault(path, f"At most {schema['maxProperties']} entries.")
        return
    properties = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            errors.setdefault(_child(path, name), "Required.")
    additional = schema.get("additionalProperties", True)
    key_pattern = schema.get("x-key-pattern")
    for key, item in value.items():
        where = _child(path, _printable(key))
        if key in properties:
            _check(properties[key], item, where, errors)
            continue
        if additional is False:
            errors.setdefault(where, "Not a field of this request.")
            continue
        bad = _bad_string(key)
        if bad or (key_pattern and not _pattern(key_pattern).search(key)):
            named = "An empty key" if key == "" else f"The key {_printable(key)!r}"
            errors.setdefault(path, f"{named} is not accepted here.")
            continue
        if isinstance(additional, dict):
            _check(additional, item, where, errors)
