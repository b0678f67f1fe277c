"""Forms of the rails' pages: a firm's top-up, an admin's net terms."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import InputRequired

from .funding import METHOD_LABELS, PAYMENT_METHODS
from .rails_models import TERMS_DAYS


class TopUpForm(FlaskForm):
    amount = StringField("Amount (USD)", validators=[InputRequired("Enter an amount.")])
    payment_method = SelectField("Pay with", choices=[
        (value, f"{METHOD_LABELS[method]} · {label}")
        for method, options in PAYMENT_METHODS.items() for value, label in options],
        validators=[InputRequired()])


class NetTermsForm(FlaskForm):
    firm_id = SelectField("Firm", coerce=int, validators=[InputRequired("Choose a firm.")])
    days = SelectField("Pay within", coerce=int,
                       choices=[(d, f"{d} days") for d in TERMS_DAYS])
    credit_limit = StringField("Credit limit (USD)",
                               validators=[InputRequired("Enter a credit limit.")])


class PayoutSetupForm(FlaskForm):
    country = SelectField("Country of your bank account", choices=[("US", "United States")],
                          validators=[InputRequired("Choose the country of your bank.")])
