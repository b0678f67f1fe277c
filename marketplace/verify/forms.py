"""Verify forms: shape only; services check the rules."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .models import CredentialKind

KINDS = [(k.value, k.label) for k in CredentialKind]


class CredentialForm(FlaskForm):
    credential_type_id = SelectField("Credential", coerce=int, validators=[DataRequired()])
    number = StringField("Number (licence, policy or certificate)",
                         validators=[Optional(), Length(max=80)])
    issuer = StringField("Issued by", validators=[Optional(), Length(max=160)])
    issued_on = DateField("Issue date", validators=[Optional()])
    expires_on = DateField("Expiry date", validators=[Optional()])
    coverage = DecimalField("Coverage amount ($, insurance only)", places=2,
                            validators=[Optional(), NumberRange(min=0)])
    document = FileField("Document (PDF, JPEG or PNG photo)")


class InfoForm(CredentialForm):
    """Answering a request for more information: same fields, type fixed."""
    credential_type_id = None


class DecisionForm(FlaskForm):
    reason = TextAreaField("Reason (shown to the technician)",
                           validators=[Optional(), Length(max=2000)])


class CredentialTypeForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    kind = SelectField("Kind", choices=KINDS)
    issuing_body = StringField("Issuing body", validators=[Optional(), Length(max=160)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    requires_document = BooleanField("A document is required", default=True)
    expires = BooleanField("It expires", default=True)
    default_coverage = DecimalField("Default minimum coverage ($, insurance)", places=2,
                                    validators=[Optional(), NumberRange(min=0)])
    is_active = BooleanField("Active (technicians can submit it)", default=True)


class RequirementSetForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])


class SweepForm(FlaskForm):
    confirm = BooleanField("Yes, run the sweep now", validators=[DataRequired(
        "Tick the box to confirm: the sweep notifies, expires and suspends at once.")])


class FirmDetailsForm(FlaskForm):
    legal_name = StringField("Legal name", validators=[DataRequired(), Length(max=200)])
    ein = StringField("EIN (tax id)", validators=[DataRequired(), Length(max=10)],
                      description="Nine digits, like 12-3456789.")
    address_line = StringField("Street address", validators=[DataRequired(), Length(max=200)])
    city = StringField("City", validators=[DataRequired(), Length(max=100)])
    state = StringField("State", validators=[DataRequired(), Length(max=2)])
    postal_code = StringField("ZIP code", validators=[DataRequired(), Length(max=10)])
