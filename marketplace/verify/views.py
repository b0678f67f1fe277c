"""Verify pages: technicians' credentials, the admin review queue, catalog, requirement sets."""
from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.access import (
    admin_required,
    firm_required,
    login_required,
    technician_required,
)
from ..accounts.people import pick_label
from ..core import clock
from ..core.money import MAX_COVERAGE_CENTS, cents_to_decimal, parse_amount
from ..core.uploads import Upload, file_response
from ..errors import PermissionDenied, ValidationFailed
from ..web.formkit import attempt, cents_or_none
from ..web.pagination import page_args
from ..web.security import framed_document, page_policy
from ..web.ui import plural
from . import catalog, compliance, lookup, queue, submissions, validity
from .expiry import run_sweep
from .forms import (
    CredentialForm,
    CredentialTypeForm,
    DecisionForm,
    InfoForm,
    RequirementSetForm,
    SweepForm,
)
from .history import credential_history
from .models import CredentialStatus

bp = Blueprint("verify", __name__, url_prefix="/verify")
REVIEW_PAGE = 50


def _upload(form) -> Upload | None:
    file = form.document.data
    if not file or not getattr(file, "filename", ""):
        return None
    return Upload(filename=file.filename, data=file.read())


# Technician ------------------------------------------------------------------

def _coverage(value, field: str = "coverage") -> int | None:
    """Insurance coverage typed in dollars: bounded by coverage's own limit."""
    return cents_or_none(value, field, maximum=MAX_COVERAGE_CENTS)


@bp.get("/credentials")
@technician_required
def my_credentials():
    tech = current_user.technician
    credentials = submissions.list_for_technician(tech)
    today = clock.today()
    return render_template("verify/my_credentials.html", tech=tech, credentials=credentials,
                           past_expiry={c.id for c in credentials
                                        if validity.is_past_expiry(c, today)})


@bp.route("/credentials/new", methods=["GET", "POST"])
@technician_required
def new_credential():
    types = catalog.submittable_types(current_user.technician.id)
    form = CredentialForm(credential_type_id=request.args.get("type", type=int))
    form.credential_type_id.choices = [(t.id, t.name) for t in types]
    if form.validate_on_submit():
        ok, cred = attempt(form, lambda: submissions.submit_credential(
            current_user, credential_type_id=form.credential_type_id.data,
            number=form.number.data, issuer=form.issuer.data, issued_on=form.issued_on.data,
            expires_on=form.expires_on.data, coverage_cents=_coverage(form.coverage.data),
            upload=_upload(form)))
        if ok:
            flash("Submitted. An admin reviews it, usually within one business day.", "success")
            return redirect(url_for("verify.my_credentials"))
    return render_template("verify/new_credential.html", form=form, types=types)


@bp.route("/credentials/<int:credential_id>", methods=["GET", "POST"])
@technician_required
def credential(credential_id: int):
    cred = submissions.access_credential(current_user, credential_id)
    form = InfoForm(obj=cred, coverage=cents_to_decimal(cred.coverage_cents))
    if cred.status == CredentialStatus.NEEDS_INFO and form.validate_on_submit():
        ok, _ = attempt(form, lambda: submissions.respond_to_request(
            current_user, cred, number=form.number.data, issuer=form.issuer.data,
            issued_on=form.issued_on.data, expires_on=form.expires_on.data,
            coverage_cents=_coverage(form.coverage.data), upload=_upload(form)))
        if ok:
            flash("Sent back for review.", "success")
            return redirect(url_for("verify.my_credentials"))
    return render_template("verify/credential.html", cred=cred, form=form)


@bp.get("/credentials/<int:credential_id>/document")
@login_required
def document(credential_id: int):
    cred = submissions.access_credential(current_user, credential_id)
    data, mime, name = submissions.read_document(current_user, cred)
    return _document(data, mime, name)


def _document(data: bytes, mime: str, name: str):
    """A stored document; inline, it may be shown in a frame of our own pages only."""
    inline = bool(request.args.get("inline"))
    response = file_response(data, mime, name, inline=inline)
    return framed_document(response) if inline else response


# Admin review ------------------------------------------------------------------

@bp.get("/review")
@admin_required
def review_queue():
    """Urgent renewals first, then the oldest; filtered by type, kind and age, a page at a time."""
    filters = queue.QueueFilters.from_args(request.args)
    page, per_page = page_args(request.args, default_per_page=REVIEW_PAGE)
    now, today = clock.now(), clock.today()
    rows, facets = queue.review_page(filters, page, per_page, now=now, today=today)
    return render_template("verify/review_queue.html", filters=filters, today=today,
                           page=rows, facets=facets)


# The review page shows the document in a frame of our own.
_REVIEW_PAGE = page_policy(frame_src="'self'")


@bp.get("/review/<int:credential_id>")
@admin_required
@_REVIEW_PAGE
def review(credential_id: int):
    cred = submissions.access_credential(current_user, credential_id)
    return render_template("verify/review.html", cred=cred, form=DecisionForm(),
                           history=credential_history(cred))


@bp.post("/review/<int:credential_id>/approve")
@admin_required
@_REVIEW_PAGE
def approve(credential_id: int):
    return _decide(credential_id, "approve")


@bp.post("/review/<int:credential_id>/reject")
@admin_required
@_REVIEW_PAGE
def reject(credential_id: int):
    return _decide(credential_id, "reject")


@bp.post("/review/<int:credential_id>/request-info")
@admin_required
@_REVIEW_PAGE
def request_info(credential_id: int):
    return _decide(credential_id, "request-info")


def _decide(credential_id: int, decision: str):
    cred = submissions.access_credential(current_user, credential_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return render_template("verify/review.html", cred=cred, form=form,
                               history=credential_history(cred)), 422
    action = {"approve": lambda: submissions.approve(current_user, cred),
              "reject": lambda: submissions.reject(current_user, cred, form.reason.data),
              "request-info": lambda: submissions.request_info(current_user, cred,
                                                               form.reason.data)}[decision]
    ok, _ = attempt(form, action)
    if not ok:
        return render_template("verify/review.html", cred=cred, form=form,
                               history=credential_history(cred)), 422
    flash({"approve": "Approved.", "reject": "Rejected; the technician sees your reason.",
           "request-info": "Asked the technician for more information."}[decision], "success")
    return redirect(url_for("verify.review_queue"))


@bp.route("/sweep", methods=["GET", "POST"])
@admin_required
def sweep():
    """The expiry sweep by hand, after a confirmation (it notifies and suspends at once)."""
    form = SweepForm()
    if form.validate_on_submit():
        result = run_sweep(clock.today())
        flash(f"Sweep done: {result.reminders} {plural(result.reminders, 'reminder')}, "
              f"{result.expired} expired, {result.suspended} suspended.", "success")
        return redirect(url_for("verify.review_queue"))
    return render_template("verify/sweep_confirm.html", form=form, on=clock.today())


# Firms looking at technicians --------------------------------------------------

@bp.get("/technicians")
@firm_required()
def technician_status():
    """Credential status of a technician the firm works with, picked by name (or an id,
    ?technician=12, from links), optionally against a set."""
    sets = catalog.list_requirement_sets(current_user)
    tech, creds, result, chosen = None, [], None, None
    typed = " ".join((request.args.get("technician") or "").split())
    error, suggestions = None, []
    if typed.isdigit():
        tech = submissions.access_technician_for_firm(current_user, int(typed))
    elif typed:
        try:
            tech = lookup.pick(current_user, typed)
        except ValidationFailed as exc:
            error = exc.fields.get("technician", exc.message)
            suggestions = lookup.suggest(current_user, typed)
    if tech is not None:
        creds = submissions.list_for_technician(tech, for_firm=True)
        set_id = request.args.get("set", type=int)
        if set_id:
            chosen = catalog.access_requirement_set(current_user, set_id)
            result = compliance.check(tech.id, chosen.id, clock.today())
    return render_template("verify/technician_status.html", tech=tech, credentials=creds,
                           sets=sets, chosen=chosen, result=result, typed=typed, error=error,
                           suggestions=suggestions, label=pick_label)


@bp.get("/technicians/suggest")
@firm_required()
def technician_suggestions():
    """Names for the picker: technicians the firm works with."""
    return jsonify([{"id": t.id, "label": pick_label(t)}
                    for t in lookup.suggest(current_user, request.args.get("q", ""))])


@bp.get("/technicians/<int:technician_id>/credentials/<int:credential_id>/document")
@firm_required()
def technician_document(technician_id: int, credential_id: int):
    """The document of an approved credential of a technician the firm works with."""
    cred = submissions.access_document_for_firm(current_user, technician_id, credential_id)
    data, mime, name = submissions.read_document(current_user, cred)
    return _document(data, mime, name)


# Catalog -----------------------------------------------------------------------

@bp.get("/types")
@login_required
def types():
    if not (current_user.is_admin or current_user.is_firm_user):
        raise PermissionDenied("This page is for firms and admins.")
    types_ = catalog.list_types(current_user)
    return render_template("verify/types.html", types=types_,
                           can_add=catalog.can_define(current_user),
                           editable={t.id for t in types_
                                     if catalog.can_edit_type(current_user, t)})


def _type_kwargs(form) -> dict:
    return dict(name=form.name.data, kind=form.kind.data, issuing_body=form.issuing_body.data,
                description=form.description.data or "",
                requires_document=form.requires_document.data, expires=form.expires.data,
                default_coverage_cents=_coverage(form.default_coverage.data, "default_coverage"))


@bp.route("/types/new", methods=["GET", "POST"])
@login_required
def new_type():
    if not catalog.can_define(current_user):
        raise PermissionDenied("Only admins and firm owners or managers add credential types.")
    form = CredentialTypeForm()
    if form.validate_on_submit():
        ok, _ = attempt(form, lambda: catalog.create_type(current_user, **_type_kwargs(form)))
        if ok:
            flash("Credential type added.", "success")
            return redirect(url_for("verify.types"))
    return render_template("verify/type_form.html", form=form, ctype=None)


@bp.route("/types/<int:type_id>", methods=["GET", "POST"])
@login_required
def edit_type(type_id: int):
    ctype = catalog.access_type_for_edit(current_user, type_id)
    form = CredentialTypeForm(obj=ctype, default_coverage=cents_to_decimal(
        ctype.default_coverage_cents))
    if form.validate_on_submit():
        ok, _ = attempt(form, lambda: catalog.update_type(
            current_user, ctype, is_active=form.is_active.data, **_type_kwargs(form)))
        if ok:
            flash("Credential type saved.", "success")
            return redirect(url_for("verify.types"))
    return render_template("verify/type_form.html", form=form, ctype=ctype)


# Requirement sets --------------------------------------------------------------

@bp.get("/requirements")
@login_required
def requirement_sets():
    if not (current_user.is_admin or current_user.is_firm_user):
        raise PermissionDenied("This page is for firms and admins.")
    sets = catalog.list_requirement_sets(current_user)
    return render_template("verify/requirement_sets.html", sets=sets,
                           can_add=catalog.can_define(current_user),
                           editable={s.id for s in sets if catalog.can_edit_set(current_user, s)})


def _items_from(form_data) -> dict[int, int | None]:
    items: dict[int, int | None] = {}
    for key in form_data:
        if key.startswith("item-"):
            try:
                type_id = int(key[5:])
            except ValueError:
                continue
            raw = (form_data.get(f"cov-{type_id}") or "").strip()
            items[type_id] = parse_amount(raw, f"cov-{type_id}",
                                          maximum_cents=MAX_COVERAGE_CENTS) if raw else None
    return items


def _save_set(rset):
    form = RequirementSetForm(obj=rset)
    types_ = catalog.list_types(current_user, active_only=True)
    chosen = {i.credential_type_id: i.min_coverage_cents for i in rset.items} if rset else {}
    if form.validate_on_submit():
        ok, saved = attempt(form, lambda: catalog.save_requirement_set(
            current_user, rset, name=form.name.data, description=form.description.data or "",
            items=_items_from(request.form)))
        if ok:
            flash("Requirement set saved.", "success")
            return redirect(url_for("verify.requirement_sets"))
    return render_template("verify/requirement_set_form.html", form=form, rset=rset,
                           types=types_, chosen=chosen)


@bp.route("/requirements/new", methods=["GET", "POST"])
@login_required
def new_requirement_set():
    if not catalog.can_define(current_user):
        raise PermissionDenied("Only admins and firm owners or managers edit requirement sets.")
    return _save_set(None)


@bp.route("/requirements/<int:set_id>", methods=["GET", "POST"])
@login_required
def edit_requirement_set(set_id: int):
    return _save_set(catalog.access_requirement_set(current_user, set_id, edit=True))


@bp.post("/requirements/<int:set_id>/delete")
@login_required
def delete_requirement_set(set_id: int):
    rset = catalog.access_requirement_set(current_user, set_id, edit=True)
    catalog.delete_requirement_set(current_user, rset)
    flash("Requirement set deleted.", "info")
    return redirect(url_for("verify.requirement_sets"))


# Firm verification --------------------------------------------------------------

@bp.route("/firm", methods=["GET", "POST"])
@firm_required()
def firm_details():
    from . import firms
    from .forms import FirmDetailsForm
    firm = current_user.firm
    form = FirmDetailsForm(obj=firm)
    can_edit = firms.can_submit_details(current_user)
    if can_edit and form.validate_on_submit():
        ok, _ = attempt(form, lambda: firms.submit_firm_details(
            current_user, legal_name=form.legal_name.data, ein=form.ein.data,
            address_line=form.address_line.data, city=form.city.data, state=form.state.data,
            postal_code=form.postal_code.data))
        if ok:
            flash("Sent for verification. We check the details within one business day.",
                  "success")
            return redirect(url_for("verify.firm_details"))
    return render_template("verify/firm_details.html", form=form, firm=firm, can_edit=can_edit)


@bp.get("/firms")
@admin_required
def firm_queue():
    from . import firms
    return render_template("verify/firm_queue.html", firms=firms.pending_firms())


@bp.route("/firms/<int:firm_id>", methods=["GET", "POST"])
@admin_required
def review_firm(firm_id: int):
    from . import firms
    firm = firms.access_firm_for_review(current_user, firm_id)
    form = DecisionForm()
    if form.validate_on_submit():
        approve = request.form.get("decision") == "approve"
        ok, _ = attempt(form, lambda: firms.review_firm(current_user, firm, approve=approve,
                                                        reason=form.reason.data))
        if ok:
            flash("Firm verified." if approve else "Sent back to the firm with your reason.",
                  "success")
            return redirect(url_for("verify.firm_queue"))
    return render_template("verify/firm_review.html", firm=firm, form=form)
