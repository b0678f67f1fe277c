"""Verify pages: technicians' credentials, the admin review queue, catalog, requirement sets."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts.access import (
    admin_required,
    firm_required,
    login_required,
    technician_required,
)
from ..accounts.models import Role
from ..core import clock
from ..core.money import cents_to_decimal, parse_amount
from ..core.uploads import Upload, file_response
from ..errors import PermissionDenied
from ..web.formkit import attempt, cents_or_none
from . import catalog, compliance, submissions
from .expiry import run_sweep
from .forms import (
    CredentialForm,
    CredentialTypeForm,
    DecisionForm,
    InfoForm,
    RequirementSetForm,
    SweepForm,
)
from .models import CredentialStatus

bp = Blueprint("verify", __name__, url_prefix="/verify")


def _upload(form) -> Upload | None:
    file = form.document.data
    if not file or not getattr(file, "filename", ""):
        return None
    return Upload(filename=file.filename, data=file.read())


# Technician ------------------------------------------------------------------

@bp.get("/credentials")
@technician_required
def my_credentials():
    tech = current_user.technician
    return render_template("verify/my_credentials.html", tech=tech,
                           credentials=submissions.list_for_technician(tech),
                           today=clock.today())


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
            expires_on=form.expires_on.data, coverage_cents=cents_or_none(form.coverage.data),
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
            coverage_cents=cents_or_none(form.coverage.data), upload=_upload(form)))
        if ok:
            flash("Sent back for review.", "success")
            return redirect(url_for("verify.my_credentials"))
    return render_template("verify/credential.html", cred=cred, form=form)


@bp.get("/credentials/<int:credential_id>/document")
@login_required
def document(credential_id: int):
    cred = submissions.access_credential(current_user, credential_id)
    data, mime, name = submissions.read_document(current_user, cred)
    return file_response(data, mime, name, inline=bool(request.args.get("inline")))


# Admin review ------------------------------------------------------------------

@bp.get("/review")
@admin_required
def review_queue():
    return render_template("verify/review_queue.html", queue=submissions.review_queue(),
                           sweep_form=SweepForm())


@bp.get("/review/<int:credential_id>")
@admin_required
def review(credential_id: int):
    cred = submissions.access_credential(current_user, credential_id)
    from ..core.audit import list_for_subject
    return render_template("verify/review.html", cred=cred, form=DecisionForm(),
                           history=list_for_subject("credentials", cred.id))


@bp.post("/review/<int:credential_id>/approve")
@admin_required
def approve(credential_id: int):
    return _decide(credential_id, "approve")


@bp.post("/review/<int:credential_id>/reject")
@admin_required
def reject(credential_id: int):
    return _decide(credential_id, "reject")


@bp.post("/review/<int:credential_id>/request-info")
@admin_required
def request_info(credential_id: int):
    return _decide(credential_id, "request-info")


def _decide(credential_id: int, decision: str):
    cred = submissions.access_credential(current_user, credential_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        from ..core.audit import list_for_subject
        return render_template("verify/review.html", cred=cred, form=form,
                               history=list_for_subject("credentials", cred.id)), 422
    action = {"approve": lambda: submissions.approve(current_user, cred),
              "reject": lambda: submissions.reject(current_user, cred, form.reason.data),
              "request-info": lambda: submissions.request_info(current_user, cred,
                                                               form.reason.data)}[decision]
    ok, _ = attempt(form, action)
    if not ok:
        from ..core.audit import list_for_subject
        return render_template("verify/review.html", cred=cred, form=form,
                               history=list_for_subject("credentials", cred.id)), 422
    flash({"approve": "Approved.", "reject": "Rejected; the technician sees your reason.",
           "request-info": "Asked the technician for more information."}[decision], "success")
    return redirect(url_for("verify.review_queue"))


@bp.post("/sweep")
@admin_required
def sweep():
    form = SweepForm()
    if form.validate_on_submit():
        result = run_sweep(clock.today())
        flash(f"Sweep done: {result.reminders} reminders, {result.expired} expired, "
              f"{result.suspended} suspended.", "success")
    return redirect(url_for("verify.review_queue"))


# Firms looking at technicians --------------------------------------------------

@bp.get("/technicians")
@firm_required()
def technician_status():
    """Credential status of a technician (?technician=ID), optionally against a set."""
    sets = catalog.list_requirement_sets(current_user)
    tech, creds, result, chosen = None, [], None, None
    tech_id = request.args.get("technician", type=int)
    if tech_id:
        tech = submissions.access_technician_for_firm(current_user, tech_id)
        creds = submissions.list_for_technician(tech, for_firm=True)
        set_id = request.args.get("set", type=int)
        if set_id:
            chosen = catalog.access_requirement_set(current_user, set_id)
            result = compliance.check(tech.id, chosen.id, clock.today())
    return render_template("verify/technician_status.html", tech=tech, credentials=creds,
                           sets=sets, chosen=chosen, result=result)


@bp.get("/technicians/<int:technician_id>/credentials/<int:credential_id>/document")
@firm_required()
def technician_document(technician_id: int, credential_id: int):
    """The document of an approved credential of a technician the firm works with."""
    cred = submissions.access_document_for_firm(current_user, technician_id, credential_id)
    data, mime, name = submissions.read_document(current_user, cred)
    return file_response(data, mime, name, inline=bool(request.args.get("inline")))


# Catalog -----------------------------------------------------------------------

def _catalog_editor(user) -> bool:
    return user.is_admin or (user.is_firm_user and
                             user.membership.role in (Role.OWNER, Role.MANAGER))


@bp.get("/types")
@login_required
def types():
    if not (current_user.is_admin or current_user.is_firm_user):
        raise PermissionDenied("This page is for firms and admins.")
    return render_template("verify/types.html", types=catalog.list_types(current_user),
                           can_edit=_catalog_editor(current_user))


def _type_kwargs(form) -> dict:
    return dict(name=form.name.data, kind=form.kind.data, issuing_body=form.issuing_body.data,
                description=form.description.data or "",
                requires_document=form.requires_document.data, expires=form.expires.data,
                default_coverage_cents=cents_or_none(form.default_coverage.data))


@bp.route("/types/new", methods=["GET", "POST"])
@login_required
def new_type():
    if not _catalog_editor(current_user):
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
    return render_template("verify/requirement_sets.html",
                           sets=catalog.list_requirement_sets(current_user),
                           can_edit=_catalog_editor(current_user))


def _items_from(form_data) -> dict[int, int | None]:
    items: dict[int, int | None] = {}
    for key in form_data:
        if key.startswith("item-"):
            try:
                type_id = int(key[5:])
            except ValueError:
                continue
            raw = (form_data.get(f"cov-{type_id}") or "").strip()
            items[type_id] = parse_amount(raw, f"cov-{type_id}") if raw else None
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
    if not _catalog_editor(current_user):
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
    can_edit = current_user.membership.role == Role.OWNER
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
