"""An assignment's checklist: ordered, typed tasks the technician completes on site.

Find owns the definition (it is part of the work posted and of templates);
manage records the answers. A task is a dict:

    {"key": "t3", "kind": "number", "label": "Signal level", "required": true,
     "unit": "dBm", "min": -90, "max": -20}

Kinds: confirm, text, number (unit, min, max), choice (choices), photo
(min_count), signature (a drawn signature with the signer's printed name),
file. On the form, one task per line with an optional kind in brackets:

    Confirm the rack is grounded
    [photo x2] Photos of the finished rack
    [number dBm -90..-20] Signal level at the desk
    [choice Pass|Fail] Cable certification result
    [signature] Customer sign-off
    [text] Notes for the dispatcher (optional)
"""
from __future__ import annotations

import re
from typing import Any

from ..errors import ValidationFailed

KINDS = ("confirm", "text", "number", "choice", "photo", "signature", "file")
FILE_KINDS = ("photo", "signature", "file")
MAX_TASKS = 50
MAX_LABEL = 200

_LINE = re.compile(r"^\[(?P<spec>[^\]]*)\]\s*(?P<label>.*)$")
_OPTIONAL = re.compile(r"\s*\(optional\)\s*$", re.I)
_RANGE = re.compile(r"^(-?\d+(?:\.\d+)?)\.\.(-?\d+(?:\.\d+)?)$")


def _error(index: int, reason: str) -> ValidationFailed:
    return ValidationFailed.field("checklist", f"Task {index + 1}: {reason}")


def parse_line(line: str, index: int) -> dict:
    """One line of the form's text into a task dict (not yet keyed)."""
    text = line.strip()
    required = True
    if _OPTIONAL.search(text):
        required, text = False, _OPTIONAL.sub("", text)
    task: dict[str, Any] = {"kind": "confirm", "label": text, "required": required}
    match = _LINE.match(text)
    if match:
        words = match.group("spec").split()
        task["label"] = match.group("label").strip()
        kind = (words[0].lower() if words else "")
        if kind not in KINDS:
            raise _error(index, f"unknown kind [{kind}]; use one of {', '.join(KINDS)}.")
        task["kind"] = kind
        rest = words[1:]
        if kind == "photo" and rest and re.fullmatch(r"x\d+", rest[0]):
            task["min_count"] = int(rest[0][1:])
        elif kind == "number":
            for word in rest:
                bounds = _RANGE.match(word)
                if bounds:
                    task["min"], task["max"] = float(bounds.group(1)), float(bounds.group(2))
                else:
                    task["unit"] = word[:20]
        elif kind == "choice":
            task["choices"] = [c.strip() for c in " ".join(rest).split("|") if c.strip()]
    return task


def to_line(task: dict) -> str:
    """The form's text for a task (parse_line's inverse)."""
    kind = task.get("kind", "confirm")
    spec = ""
    if kind == "photo":
        spec = f"[photo x{task.get('min_count', 1)}] "
    elif kind == "number":
        parts = ["number"] + ([task["unit"]] if task.get("unit") else [])
        if task.get("min") is not None and task.get("max") is not None:
            parts.append(f"{_num(task['min'])}..{_num(task['max'])}")
        spec = "[" + " ".join(parts) + "] "
    elif kind == "choice":
        spec = "[choice " + "|".join(task.get("choices", [])) + "] "
    elif kind != "confirm":
        spec = f"[{kind}] "
    return spec + task.get("label", "") + ("" if task.get("required", True) else " (optional)")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def normalise(raw: Any) -> list[dict]:
    """Form text, a list of lines, or a list of task dicts -> validated, keyed tasks."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        raw = [line for line in raw.splitlines() if line.strip()]
    if not isinstance(raw, list):
        raise ValidationFailed.field("checklist", "Give the checklist as a list of tasks.")
    if len(raw) > MAX_TASKS:
        raise ValidationFailed.field("checklist", f"At most {MAX_TASKS} tasks.")
    tasks = []
    for index, item in enumerate(raw):
        task = parse_line(item, index) if isinstance(item, str) else _from_dict(item, index)
        tasks.append(_validate(task, index))
    keys = [t.get("key") for t in tasks]
    used = {k for k in keys if k}
    counter = 1
    for task in tasks:
        if not task.get("key"):
            while f"t{counter}" in used:
                counter += 1
            task["key"] = f"t{counter}"
            used.add(task["key"])
    if len({t["key"] for t in tasks}) != len(tasks):
        raise ValidationFailed.field("checklist", "Two tasks have the same key.")
    return tasks


def _from_dict(item: Any, index: int) -> dict:
    if not isinstance(item, dict):
        raise _error(index, "a task is a line of text or an object.")
    allowed = {"key", "kind", "label", "required", "unit", "min", "max", "choices", "min_count"}
    unknown = set(item) - allowed
    if unknown:
        raise _error(index, f"unknown field {sorted(unknown)[0]!r}.")
    task = dict(item)
    task.setdefault("kind", "confirm")
    task.setdefault("required", True)
    return task


def _validate(task: dict, index: int) -> dict:
    kind, label = task.get("kind"), task.get("label")
    if kind not in KINDS:
        raise _error(index, f"kind must be one of {', '.join(KINDS)}.")
    if not isinstance(label, str) or not label.strip():
        raise _error(index, "give it a label.")
    if len(label) > MAX_LABEL:
        raise _error(index, f"the label is longer than {MAX_LABEL} characters.")
    if not isinstance(task.get("required"), bool):
        raise _error(index, "required is true or false.")
    key = task.get("key")
    if key is not None and (not isinstance(key, str) or not re.fullmatch(r"[a-z0-9_-]{1,20}", key)):
        raise _error(index, "a key is 1–20 lowercase letters, digits, - or _.")
    out = {"key": key, "kind": kind, "label": label.strip(), "required": task["required"]}
    if kind == "number":
        for bound in ("min", "max"):
            value = task.get(bound)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or abs(value) > 1e12):
                raise _error(index, f"{bound} must be a number.")
            if value is not None:
                out[bound] = float(value)
        if out.get("min") is not None and out.get("max") is not None and out["min"] > out["max"]:
            raise _error(index, "min is above max.")
        unit = task.get("unit")
        if unit is not None:
            if not isinstance(unit, str) or len(unit) > 20:
                raise _error(index, "the unit is a short text.")
            out["unit"] = unit
    elif kind == "choice":
        choices = task.get("choices")
        if (not isinstance(choices, list) or len(choices) < 2 or len(choices) > 20
                or not all(isinstance(c, str) and c.strip() and len(c) <= 80 for c in choices)):
            raise _error(index, "a choice needs 2–20 options, e.g. [choice Pass|Fail].")
        out["choices"] = [c.strip() for c in choices]
    elif kind == "photo":
        count = task.get("min_count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 20:
            raise _error(index, "a photo task asks for 1–20 photos.")
        out["min_count"] = count
    return out


def as_text(tasks: list) -> str:
    """The checklist as the form shows it (old plain-string checklists included)."""
    return "\n".join(item if isinstance(item, str) else to_line(item) for item in tasks or [])
