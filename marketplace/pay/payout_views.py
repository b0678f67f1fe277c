"""Pages: a technician's earnings and instant payout, a firm's spend, the printable
invoice or statement, the admins' finance desk and 1099 totals."""
from __future__ import annotations

import uuid

from flask import Blueprint, Response, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.access import admin_required, firm_required, login_required, technician_required
from ..errors import DomainError, ValidationFailed
from ..extensions import db
from ..web.formkit import act
from . import balances, connect, exports, finance, instant, statements, tax, transfers
from .payout_dates import site_today

bp = Blueprint("payouts", __name__, url_prefix="/pay")


def _csv(text: str, name: str) -> Response:
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


@bp.get("/earnings")
@technician_required
def earnings():
    tech = current_user.technician
    status = connect.status_of(tech.id)
    return render_template(
        "pay/payouts_earnings.html", balances=balances.technician_balances(tech.id),
        upcoming=balances.upcoming_for(tech.id, status.payouts_enabled), payout_status=status,
        payouts=db.session.scalars(balances.payouts_stmt(current_user).limit(20)).all(),
        documents=db.session.scalars(statements.documents_for(current_user, limit=50)).all(),
        instant_payouts=instant.history(current_user), today=site_today(tech.timezone))


@bp.get("/earnings.csv")
@technician_required
def earnings_csv():
    text, label = exports.earnings_csv(current_user, request.args.get("period"))
    return _csv(text, f"earnings-{label}")


@bp.get("/instant")
@technician_required
def instant_quote():
    try:
        quote, problem = instant.quote(current_user), None
    except DomainError as exc:
        db.session.rollback()
        quote, problem = None, exc.message
    return render_template("pay/payouts_instant.html", quote=quote, problem=problem,
                           key=uuid.uuid4().hex)


@bp.post("/instant")
@technician_required
def instant_confirm():
    try:
        amount, fee = int(request.form.get("amount_cents", "")), int(request.form.get(
            "fee_cents", ""))
    except ValueError:
        raise ValidationFailed("Open the instant payout page again and confirm its quote.")
    key = (request.form.get("key") or "")[:64]
    if len(key) < 16:
        raise ValidationFailed("Open the instant payout page again and confirm its quote.")
    ok, _ = act(lambda: instant.request(current_user, amount_cents=amount, fee_cents=fee,
                                        key=key),
                "Instant payout requested: it is on its way to your debit card.")
    return redirect(url_for("payouts.earnings") if ok else url_for("payouts.instant_quote"))


@bp.get("/spend")
@firm_required()
def spend():
    firm_id = current_user.membership.firm_id
    start, end, label = exports.parse_period(request.args.get("period"))
    docs = db.session.scalars(statements.documents_for(current_user, start=start, end=end)).all()
    return render_template("pay/payouts_spend.html", balances=balances.firm_balances(firm_id),
                           documents=docs, period=label,
                           total=sum(d.total_cents for d in docs),
                           payouts=db.session.scalars(
                               balances.payouts_stmt(current_user).limit(20)).all())


@bp.get("/spend.csv")
@firm_required()
def spend_csv():
    text, label = exports.spend_csv(current_user, request.args.get("period"))
    return _csv(text, f"spend-{label}")


@bp.get("/documents/<int:document_id>")
@login_required
def document(document_id: int):
    doc = statements.access_document(current_user, document_id)
    return render_template("pay/payouts_document.html", doc=doc,
                           payout=statements.payout_of(doc))


@bp.get("/finance")
@admin_required
def finance_desk():
    return render_template("pay/payouts_finance.html", desk=finance.desk())


@bp.post("/finance/payouts/<int:intent_id>/retry")
@admin_required
def retry_payout(intent_id: int):
    act(lambda: transfers.retry(intent_id, current_user),
        "Sent again: the payout run picks it up within a minute.")
    return redirect(url_for("payouts.finance_desk"))


@bp.get("/finance/tax")
@admin_required
def tax_totals():
    year = request.args.get("year") or str(site_today(None).year - 1)
    return render_template("pay/payouts_tax.html", year=year, rows=tax.annual_totals(year),
                           threshold=tax.threshold_cents(int(year)))


@bp.get("/finance/tax.csv")
@admin_required
def tax_csv():
    year = request.args.get("year") or str(site_today(None).year - 1)
    return _csv(tax.annual_csv(year), f"1099-nec-{year}")


def spend_panel(user) -> dict:
    """The firm dashboard's panel: this month's invoices and the reserve."""
    start, end, _ = exports.parse_period(None)
    docs = db.session.scalars(statements.documents_for(user, start=start, end=end)).all()
    return {"month_cents": sum(d.total_cents for d in docs), "count": len(docs),
            "balances": balances.firm_balances(user.membership.firm_id)}


@bp.get("/finance/payouts/<int:intent_id>/reverse")
@admin_required
def reverse_payout_form(intent_id: int):
    from . import payout_reversals
    return render_template("pay/payouts_reverse.html",
                           intent=payout_reversals.get_intent(intent_id))


@bp.post("/finance/payouts/<int:intent_id>/reverse")
@admin_required
def reverse_payout(intent_id: int):
    from . import payout_reversals
    ok, _ = act(lambda: payout_reversals.request_reversal(intent_id, current_user,
                                                          request.form.get("reason", "")),
                "Reversal sent to Stripe: the money comes back to the platform and the "
                "technician is told.", field="reason")
    return redirect(url_for("payouts.finance_desk") if ok
                    else url_for("payouts.reverse_payout_form", intent_id=intent_id))
