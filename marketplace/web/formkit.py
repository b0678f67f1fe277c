"""The one way an HTML view runs a service for a submitted form."""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import flash
from flask_wtf import FlaskForm

from ..errors import InvalidState, PermissionDenied, ValidationFailed
from ..extensions import db

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
    """Call the service; on a rule failure undo its writes and keep the input.

    Success is committed by the request's boundary (web/boundary.py)."""
    try:
        return True, action()
    except (ValidationFailed, InvalidState) as exc:
        db.session.rollback()
        apply_field_errors(form, exc.fields, exc.message)
        return False, None


def act(action: Callable[[], T], success: str | Callable[[T], str], *,
        field: str | None = None) -> tuple[bool, T | None]:
    """For a button that redirects: call the service and flash its outcome.

    A rule failure undoes the service's writes and flashes why (the message of
    `field`, when the service named it); success is flashed as given."""
    try:
        result = action()
    except (ValidationFailed, InvalidState, PermissionDenied) as exc:
        db.session.rollback()
        flash((exc.fields or {}).get(field or "") or exc.message, "error")
        return False, None
    flash(success(result) if callable(success) else success, "success")
    return True, result


def cents_or_none(value, field: str = "amount", *, maximum: int | None = None) -> int | None:
    """A WTForms DecimalField value in dollars -> integer cents (bounded: core/money)."""
    from ..core.money import MAX_CENTS, parse_amount
    if value is None:
        return None
    return parse_amount(str(value), field, maximum_cents=MAX_CENTS if maximum is None else maximum)
