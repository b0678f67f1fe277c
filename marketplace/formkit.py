"""The one way an HTML view runs a service for a submitted form."""
from __future__ import annotations

from typing import Callable, TypeVar

from flask_wtf import FlaskForm

from .errors import InvalidState, ValidationFailed
from .extensions import db

T = TypeVar("T")


def apply_field_errors(form: FlaskForm, fields: dict[str, str], message: str = "") -> None:
    """Show a service's error next to the matching field (or atop the form)."""
    placed = False
    for name, text in fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = list(field.errors) + [text]
            placed = True
        else:
            form.form_errors.append(text)
            placed = True
    if not placed and message:
        form.form_errors.append(message)


def attempt(form: FlaskForm, action: Callable[[], T]) -> tuple[bool, T | None]:
    """Call the service, commit on success; on a rule failure roll back and keep the input."""
    try:
        result = action()
        db.session.commit()
        return True, result
    except (ValidationFailed, InvalidState) as exc:
        db.session.rollback()
        apply_field_errors(form, exc.fields, exc.message)
        return False, None


def cents_or_none(value) -> int | None:
    """A WTForms DecimalField value in dollars -> integer cents."""
    from .money import parse_amount
    return None if value is None else parse_amount(str(value))
