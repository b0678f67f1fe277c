"""Account forms. They check shape; services check the rules."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from .models import Role

INDUSTRIES = [("it", "IT services"), ("telecom", "Telecom"), ("low_voltage", "Low-voltage"),
              ("retail", "Retail installs"), ("facilities", "Facilities"), ("other", "Other")]
WEEKDAYS = [("mon", "Mon"), ("tue", "Tue"), ("wed", "Wed"), ("thu", "Thu"), ("fri", "Fri"),
            ("sat", "Sat"), ("sun", "Sun")]


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])
    remember = BooleanField("Keep me signed in on this device")
    next = HiddenField()


class FirmSignupForm(FlaskForm):
    firm_name = StringField("Firm name", validators=[DataRequired(), Length(max=120)])
    industry = SelectField("Industry", choices=INDUSTRIES)
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Work email", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()],
                             description="At least 10 characters.")


class TechnicianSignupForm(FlaskForm):
    name = StringField("Full name", validators=[DataRequired(), Length(max=120)])
    email = EmailField("Email", validators=[DataRequired()])
    postal_code = StringField("Home ZIP code", validators=[DataRequired(), Length(min=5, max=10)])
    password = PasswordField("Password", validators=[DataRequired()],
                             description="At least 10 characters.")


class AcceptInvitationForm(FlaskForm):
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
    password = PasswordField("Choose a password", validators=[DataRequired()])


ROLE_CHOICES = [(r.value, r.label) for r in Role]


class InviteForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired()])
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.DISPATCHER.value)
    budget_limit = DecimalField("Budget limit per assignment (dispatchers)", places=2,
                                validators=[Optional(), NumberRange(min=0)])


class MemberForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)
    budget_limit = DecimalField("Budget limit", places=2, validators=[Optional(), NumberRange(min=0)])


class TokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=80)],
                       description="What will use it, e.g. “dispatch board sync”.")


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[DataRequired()])


class ProfileForm(FlaskForm):
    headline = StringField("Headline", validators=[Length(max=140)],
                           description="e.g. “Low-voltage tech, Cat6/fiber, 8 years”.")
    bio = TextAreaField("About you", validators=[Length(max=4000)])
    phone = StringField("Mobile phone", validators=[Optional(), Length(max=30)])
    postal_code = StringField("Home ZIP code", validators=[DataRequired(), Length(min=5, max=10)])
    travel_radius_km = IntegerField("How far you travel (km)",
                                    validators=[DataRequired(), NumberRange(min=5, max=500)])
    hourly_rate = DecimalField("Hourly rate (USD)", places=2,
                               validators=[DataRequired(), NumberRange(min=1, max=1000)])
    mon = BooleanField("Mon")
    tue = BooleanField("Tue")
    wed = BooleanField("Wed")
    thu = BooleanField("Thu")
    fri = BooleanField("Fri")
    sat = BooleanField("Sat")
    sun = BooleanField("Sun")
