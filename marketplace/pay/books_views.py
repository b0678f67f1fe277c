"""The books' pages and page parts: the firm's Payments settings, the funds secured on an
offer, the firm's reserve next to routing, the auto-approval clock on submitted work."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField

from ..accounts.access import firm_required
from ..accounts.models import Role
from ..web.formkit import attempt
from . import approval, reserves, settings

bp = Blueprint("books", __name__)

AUTO_CHOICES = [(str(d), f"{d} days") for d in settings.AUTO_APPROVE_DAYS]
TERMS_CHOICES = [(str(d), settings.terms_label(d)) for d in settings.PAYMENT_TERMS]


class PaySettingsForm(FlaskForm):
    auto_approve_days = SelectField(
        "Approve submitted work automatically after", choices=AUTO_CHOICES,
        description="If nobody at the firm approves or sends work back by then, it is approved "
                    "and the technician is told. Both sides see the date.")
    payment_terms_days = SelectField(
        "Pay technicians", choices=TERMS_CHOICES,
        description="When the technician's payout is due after approval; technicians see the "
                    "payout date on every offer before accepting.")


@bp.route("/pay/settings", methods=["GET", "POST"])
@firm_required(Role.OWNER, Role.MANAGER)
def pay_settings():
    firm_id = current_user.membership.firm_id
    current = settings.for_firm(firm_id)
    form = PaySettingsForm(data={"auto_approve_days": str(current.auto_approve_days),
                                 "payment_terms_days": str(current.payment_terms_days)})
    if form.validate_on_submit():
        ok, _ = attempt(form, lambda: settings.update_settings(
            current_user, firm_id, auto_approve_days=form.auto_approve_days.data,
            payment_terms_days=form.payment_terms_days.data))
        if ok:
            flash("Payment settings saved.", "success")
            return redirect(url_for("books.pay_settings"))
    return render_template("pay/books_settings.html", form=form, current=current,
                           funds=reserves.funds_of(firm_id))


def offer_funds(subject) -> dict | None:
    """The offer's "funds secured" line: what the firm holds for this assignment."""
    assignment = subject.assignment
    held = reserves.reserved_for(assignment)
    wanted = (subject.offer.price_cents or 0) + (subject.offer.expenses_cents or 0)
    return {"held_cents": held, "currency": assignment.currency,
            "secured": held > 0 and held >= min(wanted, assignment.budget_cents),
            "verified": assignment.firm.is_verified}


def funds_line(assignment) -> dict:
    """For the firm beside routing: what this work holds and what the firm can still secure."""
    funds = reserves.funds_of(assignment.firm_id, assignment.currency)
    held = reserves.reserved_for(assignment)
    missing = max(0, assignment.budget_cents - held - funds.spendable_cents)
    return {"held": held, "spendable": funds.spendable_cents, "reserved": funds.reserved_cents,
            "missing": missing, "currency": assignment.currency,
            "missing_text": reserves.missing_message(missing, assignment.currency)
            if missing else ""}


def auto_approval(assignment) -> dict | None:
    when = approval.auto_approval_at(assignment)
    return None if when is None else {"at": when, "zone": assignment.timezone}


def init_app(app) -> None:
    from ..web.sections import OFFER, register_section
    from ..web.ui import register_setting
    app.register_blueprint(bp)
    register_setting(app, "firm", "Payments", "books.pay_settings",
                     "When silent work is approved, when technicians are paid.", order=45)
    register_section(app, OFFER, "funds", "Funds", "pay/books_offer_funds.html", offer_funds,
                     order=5)
    app.add_template_global(funds_line, "pay_funds_line")
    app.add_template_global(auto_approval, "pay_auto_approval")
