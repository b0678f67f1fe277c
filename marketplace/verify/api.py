"""Verify over JSON: the catalog, a technician's credentials, the admin review queue."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, jsonify
from flask_login import current_user

from ..accounts.access import admin_required, firm_required, technician_required
from ..core import clock
from ..core.money import MAX_COVERAGE_CENTS, optional_cents
from ..core.uploads import file_response
from ..errors import PermissionDenied, ValidationFailed
from ..web import schema as js
from ..web.api import json_body, query_args
from ..web.openapi import FILE_TYPES, documented
from . import catalog, compliance, submissions
from .expiry import run_sweep
from .models import Credential, CredentialKind, CredentialStatus, CredentialType

bp = Blueprint("verify_api", __name__)

TYPE_PROPERTIES = {
    "id": {"type": "integer"}, "name": {"type": "string"},
    "kind": {"type": "string", "enum": [k.value for k in CredentialKind]},
    "issuing_body": {"type": "string", "nullable": True},
    "requires_document": {"type": "boolean"}, "expires": {"type": "boolean"},
    "default_coverage_cents": {"type": "integer", "nullable": True},
    "private": {"type": "boolean"}}
TYPE_SCHEMA = {"type": "object", "required": list(TYPE_PROPERTIES), "properties": TYPE_PROPERTIES}
_DAY = {"type": "string", "format": "date", "nullable": True}
CREDENTIAL_PROPERTIES = {
    "id": {"type": "integer"}, "credential_type_id": {"type": "integer"},
    "type_name": {"type": "string"},
    "status": {"type": "string", "enum": [s.value for s in CredentialStatus]},
    "number": {"type": "string", "nullable": True}, "issuer": {"type": "string", "nullable": True},
    "issued_on": _DAY, "expires_on": _DAY,
    "coverage_cents": {"type": "integer", "nullable": True},
    "has_document": {"type": "boolean"},
    "decision_reason": {"type": "string", "nullable": True},
    "supersedes_id": {"type": "integer", "nullable": True}}
CREDENTIAL_SCHEMA = {"type": "object", "required": list(CREDENTIAL_PROPERTIES),
                     "properties": CREDENTIAL_PROPERTIES}
_DATE_IN = js.nullable(js.line(10, format="date", example="2027-01-31",
                               description="a date like 2027-01-31 (empty or null: none)"))
SUBMIT_SCHEMA = js.obj({
    "credential_type_id": js.ident("one of GET /credential-types"),
    "number": js.nullable(js.line(80)), "issuer": js.nullable(js.line(160)),
    "issued_on": _DATE_IN, "expires_on": _DATE_IN,
    "coverage_cents": js.nullable(js.cents(MAX_COVERAGE_CENTS))},
    required=["credential_type_id"],
    example={"credential_type_id": 3, "number": "TX-123456", "issuer": "TDLR",
             "issued_on": "2025-01-31", "expires_on": "2027-01-31"})
DECISION_SCHEMA = js.obj({
    "decision": js.choice(["approve", "reject", "request_info"]),
    "reason": js.nullable(js.text(2000, description="required to reject or ask for more; "
                                                    "the technician reads it"))},
    required=["decision"], example={"decision": "reject", "reason": "The document is blurred."})
SWEEP_SCHEMA = {"type": "object", "required": ["reminders", "expired", "suspended"],
                "properties": {k: {"type": "integer"}
                               for k in ("reminders", "expired", "suspended")}}


def type_json(t: CredentialType) -> dict:
    return {"id": t.id, "name": t.name, "kind": t.kind.value, "issuing_body": t.issuing_body,
            "requires_document": t.requires_document, "expires": t.expires,
            "default_coverage_cents": t.default_coverage_cents, "private": t.firm_id is not None}


def credential_json(c: Credential) -> dict:
    return {"id": c.id, "credential_type_id": c.credential_type_id,
            "type_name": c.credential_type.name, "status": c.status.value, "number": c.number,
            "issuer": c.issuer, "issued_on": c.issued_on.isoformat() if c.issued_on else None,
            "expires_on": c.expires_on.isoformat() if c.expires_on else None,
            "coverage_cents": c.coverage_cents, "has_document": c.document_key is not None,
            "decision_reason": c.decision_reason, "supersedes_id": c.supersedes_id}


def _date(data: dict, key: str) -> date | None:
    raw = data.get(key)
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise ValidationFailed.field(key, "Use a date like 2027-01-31.") from None


@bp.get("/credential-types")
@documented("Credential types you can use", tags=["verify"], errors=(403,),
            response={"type": "object", "properties": {
                "data": {"type": "array", "items": TYPE_SCHEMA}}})
def credential_types():
    if current_user.is_technician and current_user.technician is not None:
        types = catalog.submittable_types(current_user.technician.id)
    elif current_user.is_admin or current_user.is_firm_user:
        types = catalog.list_types(current_user)
    else:
        raise PermissionDenied()
    return jsonify({"data": [type_json(t) for t in types]})


@bp.get("/credentials")
@technician_required
@documented("Your credentials (technicians)", tags=["verify"], errors=(403,),
            response={"type": "object", "properties": {
                "data": {"type": "array", "items": CREDENTIAL_SCHEMA}}})
def my_credentials():
    creds = submissions.list_for_technician(current_user.technician)
    return jsonify({"data": [credential_json(c) for c in creds]})


@bp.post("/credentials")
@technician_required
@documented("Submit a credential without a document (upload documents on the web page)",
            tags=["verify"], request=SUBMIT_SCHEMA, response=CREDENTIAL_SCHEMA, status=201,
            errors=(403,))
def submit():
    data = json_body()
    cred = submissions.submit_credential(
        current_user, credential_type_id=data["credential_type_id"], number=data.get("number"),
        issuer=data.get("issuer"), issued_on=_date(data, "issued_on"),
        expires_on=_date(data, "expires_on"), coverage_cents=optional_cents(
            data.get("coverage_cents"), "coverage_cents", maximum=MAX_COVERAGE_CENTS))
    return jsonify(credential_json(cred)), 201


@bp.get("/credentials/<int:credential_id>")
@documented("One of your credentials (or any, for admins)", tags=["verify"],
            response=CREDENTIAL_SCHEMA)
def credential(credential_id: int):
    return jsonify(credential_json(submissions.access_credential(current_user, credential_id)))


@bp.get("/review-queue")
@admin_required
@documented("Pending submissions: renewals about to lapse first, then the oldest (admins)", tags=["verify"], errors=(403,),
            response={"type": "object", "properties": {
                "data": {"type": "array", "items": CREDENTIAL_SCHEMA}}})
def review_queue():
    return jsonify({"data": [credential_json(c) for c in submissions.review_queue()]})


@bp.post("/credentials/<int:credential_id>/decision")
@admin_required
@documented("Approve, reject or ask for more information (admins)", tags=["verify"],
            request=DECISION_SCHEMA, response=CREDENTIAL_SCHEMA, errors=(403, 409))
def decide(credential_id: int):
    cred = submissions.access_credential(current_user, credential_id)
    data = json_body()
    decision, reason = data["decision"], data.get("reason") or ""
    if decision == "approve":
        submissions.approve(current_user, cred)
    elif decision == "reject":
        submissions.reject(current_user, cred, reason)
    else:
        submissions.request_info(current_user, cred, reason)
    return jsonify(credential_json(cred))


@bp.post("/verify/sweep")
@admin_required
@documented("Run the expiry sweep for today now (admins)", tags=["verify"], errors=(403,),
            response=SWEEP_SCHEMA)
def sweep():
    result = run_sweep(clock.today())
    return jsonify({"reminders": result.reminders, "expired": result.expired,
                    "suspended": result.suspended})


# Firms looking at technicians they work with ---------------------------------------

FIRM_CREDENTIAL_SCHEMA = {
    "type": "object", "required": [*(k for k in CREDENTIAL_PROPERTIES if k != "decision_reason"),
                                   "document_url"],
    "properties": {**{k: v for k, v in CREDENTIAL_PROPERTIES.items() if k != "decision_reason"},
                   "document_url": {"type": "string", "nullable": True,
                                    "description": "the document, where your firm may read it"}}}
FIRM_VIEW_SCHEMA = {"type": "object", "required": ["technician_id", "name", "credentials",
                                                   "compliance"], "properties": {
    "technician_id": {"type": "integer"}, "name": {"type": "string"},
    "credentials": {"type": "array", "items": FIRM_CREDENTIAL_SCHEMA},
    "compliance": {"type": "object", "nullable": True,
                   "required": ["requirement_set_id", "on", "compliant", "failures"],
                   "properties": {
                       "requirement_set_id": {"type": "integer"},
                       "on": {"type": "string", "format": "date"},
                       "compliant": {"type": "boolean"},
                       "failures": {"type": "array", "items": {"type": "string"}}}}}}


def _firm_credential_json(c: Credential, tech_id: int) -> dict:
    """What a firm sees of a credential: no decision reasons (they are between the
    technician and the reviewer), and a document link only where it may read it."""
    data = {k: v for k, v in credential_json(c).items() if k != "decision_reason"}
    data["document_url"] = (f"/api/v1/technicians/{tech_id}/credentials/{c.id}/document"
                            if submissions.can_see_document(current_user, c) else None)
    return data


@bp.get("/technicians/<int:technician_id>/credentials")
@firm_required()
@documented("Credential status of a technician your firm works with (never rejected "
            "submissions), and with `set` their compliance with one of your requirement "
            "sets today, with reasons", tags=["verify"], response=FIRM_VIEW_SCHEMA,
            params=[{"name": "set", "in": "query", "schema": js.ident("a requirement set")}],
            errors=(403,))
def firm_technician_credentials(technician_id: int):
    args = query_args()
    tech = submissions.access_technician_for_firm(current_user, technician_id)
    out = {"technician_id": tech.id, "name": tech.name, "compliance": None,
           "credentials": [_firm_credential_json(c, tech.id) for c in
                           submissions.list_for_technician(tech, for_firm=True)]}
    if "set" in args:
        chosen = catalog.access_requirement_set(current_user, args["set"])
        result = compliance.check(tech.id, chosen.id, clock.today())
        out["compliance"] = {"requirement_set_id": chosen.id, "on": clock.today().isoformat(),
                             "compliant": result.compliant, "failures": result.failures}
    return jsonify(out)


@bp.get("/technicians/<int:technician_id>/credentials/<int:credential_id>/document")
@firm_required()
@documented("The document of an approved credential of a technician your firm works with",
            tags=["verify"], errors=(403,), files=FILE_TYPES)
def firm_technician_document(technician_id: int, credential_id: int):
    cred = submissions.access_document_for_firm(current_user, technician_id, credential_id)
    data, mime, name = submissions.read_document(current_user, cred)
    return file_response(data, mime, name)
