"""Typed checklists: the form's one-line syntax, objects over the API, and their errors."""
from __future__ import annotations

import pytest

from marketplace.errors import ValidationFailed
from marketplace.find import checklist


def test_the_form_syntax_makes_typed_tasks_and_reads_back_the_same():
    text = "\n".join([
        "Confirm the rack is grounded",
        "[photo x2] Photos of the finished rack",
        "[number dBm -90..-20] Signal level",
        "[choice Pass|Fail] Certification",
        "[signature] Customer sign-off",
        "[text] Notes (optional)",
    ])
    tasks = checklist.normalise(text)
    assert [t["kind"] for t in tasks] == ["confirm", "photo", "number", "choice", "signature",
                                          "text"]
    assert tasks[1]["min_count"] == 2
    assert (tasks[2]["unit"], tasks[2]["min"], tasks[2]["max"]) == ("dBm", -90.0, -20.0)
    assert tasks[3]["choices"] == ["Pass", "Fail"]
    assert tasks[5]["required"] is False and tasks[5]["label"] == "Notes"
    assert [t["key"] for t in tasks] == ["t1", "t2", "t3", "t4", "t5", "t6"]
    assert checklist.as_text(tasks) == text


@pytest.mark.parametrize("raw,fragment", [
    ("[video] Clip", "unknown kind"),
    ("[choice Only] One", "2–20 options"),
    ([{"kind": "photo", "label": "x", "min_count": 0}], "1–20 photos"),
    ([{"kind": "number", "label": "x", "min": 5, "max": 1}], "min is above max"),
    ([{"label": "x", "oops": 1}], "unknown field"),
    ([{"key": "a", "label": "x"}, {"key": "a", "label": "y"}], "same key"),
    ("x" * 201, "longer than 200"),
])
def test_bad_tasks_get_a_field_error_naming_the_task(raw, fragment):
    with pytest.raises(ValidationFailed) as err:
        checklist.normalise(raw)
    assert fragment in err.value.fields["checklist"]


def test_keys_given_are_kept_and_others_filled_around_them():
    tasks = checklist.normalise([{"key": "t1", "label": "a"}, {"label": "b"},
                                 {"key": "t2", "label": "c"}])
    assert [t["key"] for t in tasks] == ["t1", "t3", "t2"]
