"""Pay over JSON: balances, funds, pay settings, statements, invoices, payouts and instant
payouts (/api/v1/pay)."""
from __future__ import annotations

from flask import Blueprint, jsonify, request
from flask_login import current_user

from ..accounts.access import firm_required, login_required, technician_required
from ..accounts.models import Role
from ..accounts.policy import firm_id_of
from ..errors import NotFound
from ..web import schema as s
from ..web.api import json_body, query_args
from ..web.openapi import documented
from ..web.pagination import page_args, paginate
from . import balances, funding, instant, reserves, settings, statements
from .payout_models import DocumentKind, IntentStatus

bp = Blueprint("payouts_api", __name__)
TAGS = ["pay"]

BALANCES_OUT = {"type": "object", "description": "A technician's or a firm's balances, in cents",
                "properties": {k: {"type": "integer"} for k in (
                    "payable_cents", "in_transit_cents", "paid_out_cents", "available_cents",
                    "pending_cents", "reserved_cents", "credit_cents", "spent_cents")} | {
                    "currency": {"type": "string"}}}
DOCUMENT_OUT = {"type": "object", "required": ["id", "number", "kind", "total_cents"],
                "properties": {
                    "id": {"type": "integer"}, "number": {"type": "string"},
                    "kind": {"type": "string", "enum": ["invoice", "statement"]},
                    "assignment_id": {"type": "integer"}, "title": {"type": "string"},
                    "issued_at": {"type": "string", "format": "date-time"},
                    "labour_cents": {"type": "integer"}, "expenses_cents": {"type": "integer"},
                    "total_cents": {"type": "integer"},
                    "fee_cents": {"type": "integer", "description": "statements only"},
                    "net_cents": {"type": "integer", "description": "statements only"},
                    "currency": {"type": "string"},
                    "payout_date": {"type": "string", "format": "date", "nullable": True},
                    "url": {"type": "string"}}}
PAYOUT_OUT = {"type": "object", "required": ["id", "assignment_id", "amount_cents", "status"],
              "properties": {
                  "id": {"type": "integer"}, "assignment_id": {"type": "integer"},
                  "amount_cents": {"type": "integer"}, "currency": {"type": "string"},
                  "status": {"type": "string", "enum": [s.value for s in IntentStatus]},
                  "transfer_id": {"type": "string", "nullable": True},
                  "reversed_cents": {"type": "integer"},
                  "due_on": {"type": "string", "format": "date"},
                  "paid_at": {"type": "string", "format": "date-time", "nullable": True}}}
QUOTE_OUT = {"type": "object", "properties": {
    "amount_cents": {"type": "integer"}, "fee_cents": {"type": "integer"},
    "total_cents": {"type": "integer", "description": "payout plus fee, from the balance"},
    "currency": {"type": "string"},
    "arrival_date": {"type": "string", "format": "date"}}}
INSTANT_IN = s.obj({"amount_cents": s.cents(maximum=10**9, minimum=100),
                    "fee_cents": s.cents(maximum=10**8),
                    "key": s.line(64, 16, pattern=r"^[A-Za-z0-9_-]+$",
                                  description="your idempotency key for this payout")},
                   required=("amount_cents", "fee_cents", "key"))
INSTANT_OUT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "amount_cents": {"type": "integer"},
    "fee_cents": {"type": "integer"}, "status": {"type": "string"},
    "arrival_date": {"type": "string", "format": "date", "nullable": True}}}
FUNDS_OUT = {"type": "object", "description": "What the firm has, in cents, as its Funds page shows",
             "properties": {k: {"type": "integer"} for k in (
                 "available_cents", "pending_cents", "reserved_cents", "credit_limit_cents",
                 "credit_used_cents", "credit_room_cents", "spendable_cents")} | {
                 "net_terms_days": {"type": "integer", "nullable": True,
                                    "description": "null without net terms"},
                 "currency": {"type": "string"}}}
SETTINGS_FIELDS = {
    "auto_approve_days": s.integer(min(settings.AUTO_APPROVE_DAYS),
                                   max(settings.AUTO_APPROVE_DAYS),
                                   description="days of silence before submitted work is "
                                               "approved on its own"),
    "payment_terms_days": {"type": "integer", "enum": list(settings.PAYMENT_TERMS),
                           "description": "days after approval a technician is paid "
                                          "(0: on approval)"}}
SETTINGS_IN = s.obj(SETTINGS_FIELDS, required=tuple(SETTINGS_FIELDS))
SETTINGS_OUT = {"type": "object", "properties": SETTINGS_FIELDS | {
    "payment_terms_label": {"type": "string"}}}
QUOTE_PARAMS = [{"name": "amount_cents", "in": "query", "required": False,
                 "schema": {"type": "integer", "minimum": 100, "maximum": 10**9},
                 "description": "default: everything available"}]


def document_json(doc) -> dict:
    body = {"id": doc.id, "number": doc.display_number, "kind": doc.kind.value,
            "assignment_id": doc.assignment_id, "title": doc.details.get("title", ""),
            "issued_at": doc.issued_at.isoformat(), "labour_cents": doc.labour_cents,
            "expenses_cents": doc.expenses_cents, "total_cents": doc.total_cents,
            "currency": doc.currency,
            "payout_date": doc.payout_date.isoformat() if doc.payout_date else None,
            "url": f"/pay/documents/{doc.id}"}
    if doc.kind == DocumentKind.STATEMENT:
        body.update(fee_cents=doc.fee_cents, net_cents=doc.net_cents)
    return body


def payout_json(p) -> dict:
    return {"id": p.id, "assignment_id": p.assignment_id, "amount_cents": p.amount_cents,
            "currency": p.currency, "status": p.status.value, "transfer_id": p.transfer_id,
            "reversed_cents": p.reversed_cents, "due_on": p.due_on.isoformat(),
            "paid_at": p.sent_at.isoformat() if p.sent_at else None}


@bp.get("/pay/balances")
@login_required
@documented("Your balances: a technician's payable, in transit and paid out; a firm's "
            "available, reserved, credit and spend", tags=TAGS, response=BALANCES_OUT,
            errors=(403,))
def get_balances():
    return jsonify(balances.balances_for(current_user).as_dict())


def settings_json(current) -> dict:
    return {"auto_approve_days": current.auto_approve_days,
            "payment_terms_days": current.payment_terms_days,
            "payment_terms_label": current.terms_label}


@bp.get("/pay/funds")
@firm_required()
@documented("Your firm's funds: available, pending top-ups, reserved for routed work and "
            "net-terms credit", tags=TAGS, response=FUNDS_OUT, errors=(403,))
def get_funds():
    firm_id = firm_id_of(current_user)
    funds, terms = reserves.funds_of(firm_id), funding.terms_for(firm_id)
    return jsonify({"available_cents": funds.available_cents,
                    "pending_cents": funds.pending_cents,
                    "reserved_cents": funds.reserved_cents,
                    "credit_limit_cents": funds.credit_limit_cents,
                    "credit_used_cents": funds.credit_used_cents,
                    "credit_room_cents": funds.credit_room_cents,
                    "spendable_cents": funds.spendable_cents,
                    "net_terms_days": terms.days if terms else None,
                    "currency": funds.currency})


@bp.get("/pay/settings")
@firm_required()
@documented("Your firm's pay settings: when silent work is approved, when technicians are paid",
            tags=TAGS, response=SETTINGS_OUT, errors=(403,))
def get_settings():
    return jsonify(settings_json(settings.for_firm(firm_id_of(current_user))))


@bp.put("/pay/settings")
@firm_required(Role.OWNER, Role.MANAGER)
@documented("Change your firm's pay settings (owners and managers); offers show the new "
            "payout date", tags=TAGS, request=SETTINGS_IN, response=SETTINGS_OUT,
            errors=(403,))
def put_settings():
    body = json_body()
    return jsonify(settings_json(settings.update_settings(
        current_user, firm_id_of(current_user), auto_approve_days=body["auto_approve_days"],
        payment_terms_days=body["payment_terms_days"])))


def _documents(kind: DocumentKind):
    page, per_page = page_args(request.args)
    return jsonify(paginate(statements.documents_for(current_user), page, per_page)
                   .to_json(document_json))


def _document(kind: DocumentKind, document_id: int):
    doc = statements.access_document(current_user, document_id)
    if doc.kind != kind:
        raise NotFound()
    return jsonify(document_json(doc))


@bp.get("/pay/statements")
@technician_required
@documented("Your payment statements, newest first", tags=TAGS, paginated=True,
            response=DOCUMENT_OUT, errors=(403,))
def list_statements():
    return _documents(DocumentKind.STATEMENT)


@bp.get("/pay/statements/<int:statement_id>")
@technician_required
@documented("One payment statement", tags=TAGS, response=DOCUMENT_OUT, errors=(403, 404))
def get_statement(statement_id: int):
    return _document(DocumentKind.STATEMENT, statement_id)


@bp.get("/pay/invoices")
@firm_required()
@documented("Your firm's invoices, newest first", tags=TAGS, paginated=True,
            response=DOCUMENT_OUT, errors=(403,))
def list_invoices():
    return _documents(DocumentKind.INVOICE)


@bp.get("/pay/invoices/<int:invoice_id>")
@firm_required()
@documented("One invoice", tags=TAGS, response=DOCUMENT_OUT, errors=(403, 404))
def get_invoice(invoice_id: int):
    return _document(DocumentKind.INVOICE, invoice_id)


@bp.get("/pay/payouts")
@login_required
@documented("Payouts (transfers to technicians): a technician's own, a firm's for its work",
            tags=TAGS, paginated=True, response=PAYOUT_OUT, errors=(403,))
def list_payouts():
    page, per_page = page_args(request.args)
    return jsonify(paginate(balances.payouts_stmt(current_user), page, per_page)
                   .to_json(payout_json))


@bp.get("/pay/payouts/<int:payout_id>")
@login_required
@documented("One payout", tags=TAGS, response=PAYOUT_OUT, errors=(404,))
def get_payout(payout_id: int):
    return jsonify(payout_json(balances.access_payout(current_user, payout_id)))


@bp.get("/pay/instant-payouts/quote")
@technician_required
@documented("What an instant payout costs now: Stripe's fee in cents, no markup",
            tags=TAGS, params=QUOTE_PARAMS, response=QUOTE_OUT, errors=(403, 409))
def instant_quote():
    args = query_args()
    q = instant.quote(current_user, args.get("amount_cents"))
    return jsonify({"amount_cents": q.amount_cents, "fee_cents": q.fee_cents,
                    "total_cents": q.total_cents, "currency": q.currency,
                    "arrival_date": q.arrival.isoformat()})


@bp.post("/pay/instant-payouts")
@technician_required
@documented("Take an instant payout at the quoted fee (refused if Stripe's fee changed)",
            tags=TAGS, request=INSTANT_IN, response=INSTANT_OUT, status=201,
            errors=(403, 409))
def create_instant():
    body = json_body()
    row = instant.request(current_user, amount_cents=body["amount_cents"],
                          fee_cents=body["fee_cents"], key=body["key"])
    return jsonify({"id": row.id, "amount_cents": row.amount_cents, "fee_cents": row.fee_cents,
                    "status": row.status.value,
                    "arrival_date": row.arrival_date.isoformat() if row.arrival_date else None}
                   ), 201
