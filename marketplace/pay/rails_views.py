"""Pages of the rails: a firm's funds and top-ups, a technician's payout setup through
Stripe's hosted onboarding, admins' net terms; the dashboard panels."""
from __future__ import annotations

from flask import Blueprint, current_app, make_response, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select

from ..accounts.access import admin_required, firm_required, technician_required
from ..accounts.models import Firm
from ..accounts.policy import firm_id_of, is_member
from ..core.money import format_money
from ..extensions import db
from ..integrations import payments
from ..web.security import policy
from ..web.boundary import flash_after_commit
from ..web.formkit import act, attempt, cents_or_none
from . import connect, funding, reserves
from .rails_forms import NetTermsForm, PayoutSetupForm, TopUpForm

bp = Blueprint("rails", __name__, url_prefix="/pay")


@bp.route("/funds", methods=["GET", "POST"])
@firm_required()
def funds():
    firm_id = firm_id_of(current_user)
    form = TopUpForm()
    if form.validate_on_submit():
        ok, topup = attempt(form, lambda: funding.start_topup(
            current_user, firm_id, amount_cents=cents_or_none(form.amount.data) or 0,
            method=funding.method_of(form.payment_method.data),
            payment_method=form.payment_method.data))
        if ok:
            flash_after_commit(f"Adding {format_money(topup.amount_cents, topup.currency)}: "
                               "its status is below.", "success")
            return redirect(url_for("rails.funds"), 303)
    return render_template(
        "pay/rails_funds.html", form=form, funds=reserves.funds_of(firm_id),
        terms=funding.terms_for(firm_id), topups=funding.list_topups(current_user, firm_id),
        can_fund=is_member(current_user, firm_id, *funding.FUNDERS),
        labels=funding.METHOD_LABELS, sandbox=payments.sandbox_dashboard(current_app))


def _setup_page(form: PayoutSetupForm, status: int = 200):
    """The form posts to us and we redirect to Stripe: the page's CSP allows that hop."""
    response = make_response(render_template(
        "pay/rails_payout_setup.html", form=form,
        status=connect.status_of(current_user.technician.id)), status)
    origin = payments.hosted_pages_origin(current_app)
    response.headers["Content-Security-Policy"] = policy(form_action=f"'self' {origin}")
    return response


@bp.get("/payout-setup")
@technician_required
def payout_setup():
    return _setup_page(PayoutSetupForm())


def _to_stripe(country: str | None = None):
    url = connect.onboarding_link(
        current_user, country=country,
        refresh_url=url_for("rails.payout_setup_refresh", _external=True),
        return_url=url_for("rails.payout_setup_return", _external=True))
    return redirect(url, 303)


@bp.post("/payout-setup/start")
@technician_required
def payout_setup_start():
    form = PayoutSetupForm()
    if not form.validate_on_submit():
        return _setup_page(form, 422)
    ok, response = attempt(form, lambda: _to_stripe(form.country.data))
    return response if ok else _setup_page(form, 422)


@bp.get("/payout-setup/refresh")
@technician_required
def payout_setup_refresh():
    """Stripe sends a person here when their link expired or was used: a new link."""
    if connect.account_of(current_user.technician.id) is None:
        return redirect(url_for("rails.payout_setup"), 303)
    return _to_stripe()


@bp.get("/payout-setup/return")
@technician_required
def payout_setup_return():
    """Back from Stripe. Nothing changes here: payouts switch on when Stripe's verified
    webhook says the account can receive them."""
    flash_after_commit("Thanks. Stripe is checking your details; this page shows when "
                       "payouts are on.", "success")
    return redirect(url_for("rails.payout_setup"), 303)


@bp.route("/admin/net-terms", methods=["GET", "POST"])
@admin_required
def net_terms():
    form = NetTermsForm()
    form.firm_id.choices = [(f.id, f.name) for f in db.session.scalars(
        select(Firm).order_by(Firm.name).limit(1000))]
    if form.validate_on_submit():
        ok, _ = attempt(form, lambda: funding.grant_terms(
            current_user, form.firm_id.data, days=form.days.data,
            credit_limit_cents=cents_or_none(form.credit_limit.data, "credit_limit") or 0))
        if ok:
            flash_after_commit("Net terms saved.", "success")
            return redirect(url_for("rails.net_terms"), 303)
    return render_template("pay/rails_net_terms.html", form=form,
                           granted=funding.firms_with_terms())


@bp.post("/admin/net-terms/<int:firm_id>/revoke")
@admin_required
def net_terms_revoke(firm_id: int):
    act(lambda: funding.revoke_terms(current_user, firm_id), "Net terms revoked.")
    return redirect(url_for("rails.net_terms"), 303)


def technician_panel(user) -> dict:
    return {"status": connect.status_of(user.technician.id)} if user.technician else {}


def firm_panel(user) -> dict:
    firm_id = firm_id_of(user)
    return {"funds": reserves.funds_of(firm_id), "terms": funding.terms_for(firm_id)}
