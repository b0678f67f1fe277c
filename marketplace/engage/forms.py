"""Engage forms: shapes only; the rules are in the services."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .models import RoutingMode, TargetKind

MODE_CHOICES = [(m.value, m.label) for m in RoutingMode]
TARGET_LABELS = {TargetKind.TECHNICIANS: "Chosen technicians (emails)",
                 TargetKind.POOL: "Talent pools", TargetKind.FAVOURITES: "Your favourites",
                 TargetKind.TOP_MATCHES: "Top matches (auto-invite)",
                 TargetKind.MARKETPLACE: "Open marketplace"}


def target_choices() -> list[tuple[str, str]]:
    """The targets routing offers here (favourites only where they are provided)."""
    from .routing import available_targets
    return [("", "—")] + [(k.value, TARGET_LABELS[k]) for k in available_targets()]


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired(), Length(max=300)])


class CounterForm(FlaskForm):
    price = DecimalField("Your price (USD)", places=2, validators=[DataRequired(), NumberRange(min=1)])
    expenses = DecimalField("Expenses (USD)", places=2, validators=[Optional(), NumberRange(min=0)])
    starts_at = DateTimeLocalField("New start (site time)", format="%Y-%m-%dT%H:%M",
                                   validators=[Optional()])
    hours = IntegerField("Hours on site", validators=[Optional(), NumberRange(min=1, max=24)])
    note = TextAreaField("Note", validators=[Optional(), Length(max=1000)])


class RouteForm(FlaskForm):
    mode = SelectField("How technicians take it", choices=MODE_CHOICES)
    offer_ttl_hours = IntegerField("Offers expire after (hours)", default=24,
                                   validators=[DataRequired(), NumberRange(min=1, max=336)])
    cancellation_cutoff_hours = IntegerField("Free cancellation until (hours before start)",
                                             default=24, validators=[NumberRange(min=0, max=720)])
    cancellation_fee = DecimalField("Late cancellation fee (USD)", places=2, default=0,
                                    validators=[Optional(), NumberRange(min=0)])
    standby_size = IntegerField("Standby list size (backfill)", default=5,
                                validators=[NumberRange(min=1, max=20)])


def stage_fields(n: int):
    """Three stage rows: target, when, and who."""
    class Stages(RouteForm):
        pass
    for i in range(1, n + 1):
        setattr(Stages, f"target_{i}", SelectField(f"Stage {i}: send to", choices=target_choices,
                                                   default="top_matches" if i == 1 else ""))
        setattr(Stages, f"after_{i}", IntegerField(f"Stage {i}: minutes after routing",
                                                   default=[0, 30, 120][i - 1] if i <= 3 else 0,
                                                   validators=[Optional(), NumberRange(min=0)]))
        setattr(Stages, f"emails_{i}", StringField("Technician emails (comma separated)",
                                                   validators=[Optional()]))
        setattr(Stages, f"pools_{i}", SelectMultipleField("Pools", coerce=int, choices=[],
                                                          validate_choice=False))
        setattr(Stages, f"top_k_{i}", IntegerField("How many top matches", default=10,
                                                   validators=[Optional(), NumberRange(min=1, max=100)]))
    return Stages


RouteStagesForm = stage_fields(3)
