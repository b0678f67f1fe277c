"""Find's pages: assignments, templates, CSV upload, matches, pools, the technician feed."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from ..accounts.access import firm_required, login_required, technician_required
from ..accounts.models import Skill, TechnicianProfile
from ..accounts.people import pick_label
from ..core.uploads import Upload, file_response
from ..errors import ValidationFailed
from ..extensions import db
from ..verify.models import RequirementSet
from ..web.formkit import act, attempt
from ..web.pagination import page_args, paginate
from ..web.ui import plural
from . import assignment_templates as templates_svc
from . import assignments as svc
from . import attachments, attention, csv_import, directory, feed_cards, pools
from .access import (
    access_assignment,
    access_attachment,
    access_membership,
    access_pool,
    access_public_pool,
    access_template,
)
from .forms import (
    AssignmentForm,
    AttachmentForm,
    CsvForm,
    MemberForm,
    PoolForm,
    TemplateEditForm,
    TemplateForm,
)
from .lifecycle import OPEN_STATES
from .matching import feed_for, match_technicians, ranking_orders
from .models import AssignmentStatus, TalentPool

bp = Blueprint("find", __name__)


def _set_choices(firm_id: int) -> list[tuple[int, str]]:
    sets = db.session.scalars(select(RequirementSet).where(
        or_(RequirementSet.firm_id.is_(None), RequirementSet.firm_id == firm_id))
        .order_by(RequirementSet.name))
    return [(0, "None")] + [(s.id, s.name) for s in sets]


def _assignment_form(cls=AssignmentForm, **kw) -> AssignmentForm:
    form = cls(**kw)
    by_category: dict[str, list[tuple[int, str]]] = {}
    for s in db.session.scalars(select(Skill).order_by(Skill.category, Skill.name)):
        by_category.setdefault(s.category, []).append((s.id, s.name))
    form.skills.choices = by_category   # one group per category
    form.requirement_set_id.choices = _set_choices(current_user.membership.firm_id)
    return form


def _arg_id(name: str) -> int | None:
    """An id from the query string: None when absent, 0 (which finds nothing) when garbled."""
    if not request.args.get(name):
        return None
    return request.args.get(name, type=int) or 0


@bp.get("/assignments")
@firm_required()
def assignments():
    page, per_page = page_args(request.args)
    status, q = request.args.get("status") or None, request.args.get("q") or None
    needs = request.args.get("needs") or None
    try:
        stmt = svc.list_assignments(current_user, status=status, q=q)
    except ValidationFailed:
        stmt, status = svc.list_assignments(current_user, q=q), None
    if needs in attention.kinds():
        stmt = attention.narrow(stmt, needs, current_user.membership.firm_id)
    else:
        needs = None
    return render_template("find/assignments.html", page=paginate(stmt, page, per_page),
                           status=status, q=q or "", states=list(AssignmentStatus),
                           needs=needs, attention_kinds=attention.kinds())


@bp.route("/assignments/new", methods=["GET", "POST"])
@firm_required()
def new_assignment():
    form = _assignment_form()
    # The template or assignment this one starts from (its files come along).
    source, prefill = templates_svc.starting_point(
        current_user, template_id=_arg_id("template"), duplicate_of=_arg_id("duplicate"))
    if request.method == "GET" and source is not None:
        form.prefill(prefill)
    if form.validate_on_submit():
        ok, a = attempt(form, lambda: svc.create_assignment(
            current_user, form.values(), publish=form.publish.data, files_from=source))
        if ok:
            flash("Assignment published." if form.publish.data else "Draft saved.", "success")
            return redirect(url_for("find.assignment", assignment_id=a.id))
    return render_template("find/assignment_form.html", form=form, assignment=None,
                           source_files=attachments.list_attachments(source) if source else [],
                           templates=db.session.scalars(
                               templates_svc.list_templates(current_user)).all())


@bp.route("/assignments/<int:assignment_id>/edit", methods=["GET", "POST"])
@firm_required()
def edit_assignment(assignment_id: int):
    a = access_assignment(current_user, assignment_id)
    form = _assignment_form()
    if request.method == "GET":
        form.prefill(svc.form_data(a))
        form.version.data = a.version
    if form.validate_on_submit():
        opened = form.version.data or None
        ok, _ = attempt(form, lambda: svc.update_assignment(current_user, a, form.values(),
                                                           expected_version=opened))
        if ok:
            flash("Assignment updated.", "success")
            return redirect(url_for("find.assignment", assignment_id=a.id))
        if opened is not None and str(a.version) != str(opened):
            form.form_errors.append(svc.STALE_EDIT_NEXT)
            form.version.data = a.version
    return render_template("find/assignment_form.html", form=form, assignment=a, templates=[])


@bp.get("/assignments/<int:assignment_id>")
@firm_required()
def assignment(assignment_id: int):
    a = access_assignment(current_user, assignment_id)
    # Matches help while the work is unfilled; once someone has it, the page names them.
    unfilled = a.status in OPEN_STATES
    orders = ranking_orders()
    order = request.args.get("sort") if request.args.get("sort") in orders else "ranked"
    matches = match_technicians(a, k=25, order=order) if unfilled else []
    techs = {t.id: t for t in db.session.scalars(select(TechnicianProfile).where(
        TechnicianProfile.id.in_([m.technician_id for m in matches]))
        .options(joinedload(TechnicianProfile.user)))}
    return render_template("find/assignment.html", a=a, matches=matches, techs=techs,
                           show_matches=unfilled, match_order=order, match_orders=orders,
                           template_form=TemplateForm(name=a.title),
                           files=attachments.list_attachments(a), file_form=AttachmentForm(),
                           can_upload=a.status in attachments.UPLOAD_STATES,
                           can_delete=a.status in attachments.DELETE_STATES)


@bp.post("/assignments/<int:assignment_id>/publish")
@firm_required()
def publish(assignment_id: int):
    a = access_assignment(current_user, assignment_id)
    act(lambda: svc.publish_assignment(current_user, a), "Assignment published.")
    return redirect(url_for("find.assignment", assignment_id=a.id))


@bp.post("/assignments/<int:assignment_id>/template")
@firm_required()
def save_template(assignment_id: int):
    a = access_assignment(current_user, assignment_id)
    form = TemplateForm()
    if form.validate_on_submit():
        templates_svc.save_as_template(current_user, a, form.name.data or a.title)
        flash("Saved as a template.", "success")
    return redirect(url_for("find.assignment", assignment_id=a.id))


@bp.get("/templates")
@firm_required()
def templates():
    return render_template("find/templates.html", templates=db.session.scalars(
        templates_svc.list_templates(current_user)).all())


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
@firm_required()
def edit_template(template_id: int):
    t = access_template(current_user, template_id)
    form = _assignment_form(TemplateEditForm)
    if request.method == "GET":
        form.prefill(t.data or {})
        form.name.data = t.name
    if form.validate_on_submit():
        ok, _ = attempt(form, lambda: templates_svc.update_template(
            current_user, t, form.name.data, form.values()))
        if ok:
            flash("Template saved.", "success")
            return redirect(url_for("find.templates"))
    return render_template("find/template_form.html", form=form, template=t,
                           files=attachments.list_attachments(t))


@bp.post("/templates/<int:template_id>/delete")
@firm_required()
def delete_template(template_id: int):
    t = access_template(current_user, template_id)
    templates_svc.delete_template(current_user, t)
    flash(f"Template \"{t.name}\" deleted.", "info")
    return redirect(url_for("find.templates"))


# --- attachments ------------------------------------------------------------------------

@bp.post("/assignments/<int:assignment_id>/attachments")
@firm_required()
def upload_attachment(assignment_id: int):
    a = access_assignment(current_user, assignment_id)
    form = AttachmentForm()
    if form.validate_on_submit():
        file = form.file.data
        upload = Upload(filename=getattr(file, "filename", "") or "",
                        data=file.read() if file else b"")
        act(lambda: attachments.add_attachment(current_user, a, upload),
            lambda added: f"Attached {added.filename}.", field="file")
    return redirect(url_for("find.assignment", assignment_id=a.id))


@bp.get("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    att = access_attachment(current_user, attachment_id)
    return file_response(attachments.read_attachment(att), att.mime, att.filename,
                         inline=bool(request.args.get("inline")))


@bp.post("/attachments/<int:attachment_id>/delete")
@firm_required()
def delete_attachment(attachment_id: int):
    att = access_attachment(current_user, attachment_id)
    back = (url_for("find.assignment", assignment_id=att.assignment_id) if att.assignment_id
            else url_for("find.edit_template", template_id=att.template_id))
    act(lambda: attachments.delete_attachment(current_user, att), f"Removed {att.filename}.")
    return redirect(back)


@bp.route("/assignments/import", methods=["GET", "POST"])
@firm_required()
def import_csv():
    form = CsvForm()
    report = None
    if form.validate_on_submit():
        upload = request.files.get("file")
        data = upload.read(csv_import.MAX_CSV_BYTES + 1) if upload else b""
        ok, report = attempt(form, lambda: csv_import.import_csv(
            current_user, data, publish=form.publish.data,
            allow_duplicates=form.allow_duplicates.data))
        if ok:
            made, bad = len(report.created), len(report.errors)
            skipped = len(report.warnings)
            flash(f"{made} {plural(made, 'assignment')} created; "
                  f"{bad} {plural(bad, 'row needs', 'rows need')} fixing"
                  + (f"; {skipped} {plural(skipped, 'duplicate')} skipped." if skipped else "."),
                  "success" if report.ok and not report.notes and not skipped else "warning")
    return render_template("find/import.html", form=form, report=report,
                           columns=csv_import.CSV_COLUMNS, max_rows=csv_import.MAX_CSV_ROWS,
                           max_mb=csv_import.MAX_CSV_BYTES // 1_000_000)


@bp.route("/pools", methods=["GET", "POST"])
@firm_required()
def pool_list():
    form = PoolForm()
    form.requirement_set_id.choices = _set_choices(current_user.membership.firm_id)
    if form.validate_on_submit():
        ok, pool = attempt(form, lambda: pools.create_pool(
            current_user, name=form.name.data, description=form.description.data,
            visibility=form.visibility.data,
            requirement_set_id=form.requirement_set_id.data or None))
        if ok:
            flash("Pool created.", "success")
            return redirect(url_for("find.pool", pool_id=pool.id))
    rows = db.session.scalars(select(TalentPool).where(
        TalentPool.firm_id == current_user.membership.firm_id).order_by(TalentPool.name)).all()
    return render_template("find/pools.html", pools=rows, form=form)


@bp.route("/pools/<int:pool_id>", methods=["GET", "POST"])
@firm_required()
def pool(pool_id: int):
    p = access_pool(current_user, pool_id)
    form = MemberForm()
    suggestions = []
    if form.validate_on_submit():
        action = {"invite": pools.add_member, "approve": pools.approve_application,
                  "remove": pools.remove_member}[form.action.data]
        ok, _ = attempt(form, lambda: action(
            current_user, p, directory.pick(current_user, form.technician_id.data).id))
        if ok:
            flash("Pool updated.", "success")
            return redirect(url_for("find.pool", pool_id=p.id))
        suggestions = directory.suggest(current_user, form.technician_id.data or "")
    members = pools.list_members(p)
    return render_template("find/pool.html", pool=p, members=members, form=form,
                           suggestions=suggestions, label=pick_label,
                           removal_label=pools.removal_label)


# --- the technician's pools ------------------------------------------------------------

@bp.get("/my/pools")
@technician_required
def my_pools():
    return render_template("find/my_pools.html",
                           view=pools.pools_for_technician(current_user.technician))


def _pool_action(action, message: str):
    act(action, message)
    return redirect(url_for("find.my_pools"))


@bp.post("/my/pools/<int:pool_id>/join")
@technician_required
def join_pool(pool_id: int):
    p = access_public_pool(current_user, pool_id)
    return _pool_action(lambda: pools.join(current_user.technician, p),
                        f"Done: {p.name} has your membership or application.")


@bp.post("/my/pools/<int:pool_id>/decline")
@technician_required
def decline_pool(pool_id: int):
    member = access_membership(current_user, pool_id)
    return _pool_action(lambda: pools.decline_invitation(current_user.technician, member),
                        f"Invitation to {member.pool.name} declined.")


@bp.post("/my/pools/<int:pool_id>/leave")
@technician_required
def leave_pool(pool_id: int):
    member = access_membership(current_user, pool_id)
    return _pool_action(lambda: pools.leave(current_user.technician, member),
                        f"You are out of {member.pool.name}.")


@bp.get("/feed")
@technician_required
def feed():
    items = feed_for(current_user.technician)
    return render_template("find/feed.html", items=items,
                           actions=feed_cards.actions_for(current_user.technician, items))
