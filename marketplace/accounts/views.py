"""Account pages: sign-up, sign-in, team, invitations, tokens, profile."""
from __future__ import annotations

import re
from urllib.parse import urlparse

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_user, logout_user

from ..core.money import cents_to_decimal
from ..errors import ValidationFailed
from ..extensions import limiter
from ..web.formkit import attempt, cents_or_none
from . import services, tokens
from .access import (
    access_api_token,
    access_invitation,
    access_membership,
    firm_required,
    login_required,
    technician_required,
)
from .forms import (
    WEEKDAYS,
    AcceptInvitationForm,
    FirmSignupForm,
    InviteForm,
    LoginForm,
    MemberForm,
    PasswordForm,
    ProfileForm,
    TechnicianSignupForm,
    TokenForm,
)
from .models import Role, SkillLevel
from .policy import MANAGERS, is_member

bp = Blueprint("accounts", __name__)


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _new_csrf_token() -> None:
    """Forget the session's CSRF token: the next form gets a new one."""
    name = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    session.pop(name, None)
    g.pop(name, None)


def _sign_in(user, *, remember: bool = False) -> None:
    """Start a session; a CSRF token issued before sign-in does not carry over into it."""
    login_user(user, remember=remember)
    _new_csrf_token()


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboards.home"))
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        ok, user = attempt(form, lambda: services.authenticate(form.email.data, form.password.data))
        if ok:
            _sign_in(user, remember=form.remember.data)
            flash(f"Welcome back, {user.name.split()[0]}.", "success")
            return redirect(_safe_next(form.next.data) or url_for("dashboards.home"))
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Ends this session and every other one: a copy of the cookie must not outlive it.
        services.end_sessions(current_user._get_current_object())
    logout_user()
    _new_csrf_token()
    flash("You are signed out, on this device and any other.", "info")
    return redirect(url_for("accounts.login"))


@bp.get("/signup")
def signup():
    return render_template("accounts/signup.html")


@bp.route("/signup/firm", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def signup_firm():
    form = FirmSignupForm()
    if form.validate_on_submit():
        ok, user = attempt(form, lambda: services.register_firm(
            firm_name=form.firm_name.data, owner_name=form.name.data, email=form.email.data,
            password=form.password.data, industry=form.industry.data))
        if ok:
            _sign_in(user)
            flash("Your firm is set up. Invite your dispatchers next.", "success")
            return redirect(url_for("dashboards.firm"))
    return render_template("accounts/signup_firm.html", form=form)


@bp.route("/signup/technician", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def signup_technician():
    form = TechnicianSignupForm()
    if form.validate_on_submit():
        ok, user = attempt(form, lambda: services.register_technician(
            name=form.name.data, email=form.email.data, password=form.password.data,
            postal_code=form.postal_code.data))
        if ok:
            _sign_in(user)
            flash("Welcome! Add your skills so firms can find you.", "success")
            return redirect(url_for("accounts.profile"))
    return render_template("accounts/signup_technician.html", form=form)


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@limiter.limit("30 per hour", methods=["POST"])
def accept_invitation(token: str):
    invitation = services.get_invitation_by_token(token)
    form = AcceptInvitationForm()
    if form.validate_on_submit():
        ok, user = attempt(form, lambda: services.accept_invitation(
            token, name=form.name.data, password=form.password.data))
        if ok:
            _sign_in(user)
            flash(f"You joined {user.firm.name}.", "success")
            return redirect(url_for("dashboards.firm"))
    return render_template("accounts/accept_invitation.html", form=form, invitation=invitation)


@bp.route("/team", methods=["GET", "POST"])
@firm_required()
def team():
    form = InviteForm()
    firm = current_user.firm
    if form.validate_on_submit():
        ok, _ = attempt(form, lambda: services.invite_member(
            current_user, email=form.email.data, role=form.role.data,
            budget_limit_cents=cents_or_none(form.budget_limit.data, "budget_limit")))
        if ok:
            flash(f"Invitation sent to {form.email.data}.", "success")
            return redirect(url_for("accounts.team"))
    can_manage = is_member(current_user, None, *MANAGERS)
    return render_template("accounts/team.html", form=form, firm=firm, can_manage=can_manage,
                           members=services.list_members(firm.id),
                           invitations=services.list_invitations(firm.id))


@bp.route("/team/members/<int:member_id>", methods=["GET", "POST"])
@firm_required(Role.OWNER, Role.MANAGER)
def edit_member(member_id: int):
    member = access_membership(current_user, member_id)
    form = MemberForm(obj=None, role=member.role.value,
                      budget_limit=cents_to_decimal(member.budget_limit_cents))
    if form.validate_on_submit():
        ok, _ = attempt(form, lambda: services.update_member(
            current_user, member, role=form.role.data,
            budget_limit_cents=cents_or_none(form.budget_limit.data, "budget_limit")))
        if ok:
            flash(f"{member.user.name} updated.", "success")
            return redirect(url_for("accounts.team"))
    return render_template("accounts/member.html", form=form, member=member)


@bp.post("/team/members/<int:member_id>/remove")
@firm_required(Role.OWNER, Role.MANAGER)
def remove_member(member_id: int):
    member = access_membership(current_user, member_id)
    name = member.user.name
    services.remove_member(current_user, member)
    flash(f"{name} no longer has access.", "info")
    return redirect(url_for("accounts.team"))


@bp.post("/team/invitations/<int:invitation_id>/revoke")
@firm_required(Role.OWNER, Role.MANAGER)
def revoke_invitation(invitation_id: int):
    invitation = access_invitation(current_user, invitation_id)
    services.revoke_invitation(current_user, invitation)
    flash(f"Invitation to {invitation.email} revoked.", "info")
    return redirect(url_for("accounts.team"))


@bp.route("/settings/tokens", methods=["GET", "POST"])
@login_required
def api_tokens():
    form = TokenForm()
    raw = None
    if form.validate_on_submit():
        ok, result = attempt(form, lambda: tokens.issue_api_token(current_user, form.name.data))
        if ok:
            raw = result[1]
            form = TokenForm(formdata=None)
    return render_template("accounts/tokens.html", form=form, raw_token=raw,
                           tokens=tokens.list_api_tokens(current_user))


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke_api_token(token_id: int):
    token = access_api_token(current_user, token_id)
    tokens.revoke_api_token(current_user, token)
    flash(f"Token “{token.name}” revoked. Anything using it stops working now.", "info")
    return redirect(url_for("accounts.api_tokens"))


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        ok, _ = attempt(form, lambda: services.change_password(
            current_user, form.current_password.data, form.new_password.data))
        if ok:
            _sign_in(current_user._get_current_object())
            flash("Password changed. Other devices were signed out.", "success")
            return redirect(url_for("dashboards.home"))
    return render_template("accounts/password.html", form=form)


@bp.route("/profile", methods=["GET", "POST"])
@technician_required
def profile():
    tech = current_user.technician
    form = ProfileForm(obj=tech, hourly_rate=cents_to_decimal(tech.hourly_rate_cents),
                       **{d: tech.availability.get(d, False) for d, _ in WEEKDAYS})
    skills = services.list_skills()
    current_levels = {s.skill_id: s.level for s in tech.skills}
    if form.validate_on_submit():
        levels = _skill_levels_from(request.form)

        def save():
            levels.update(_added_skill(request.form, {s.id for s in skills}))
            services.update_technician_profile(
                current_user, headline=form.headline.data or "", bio=form.bio.data or "",
                phone=form.phone.data, postal_code=form.postal_code.data.strip(),
                travel_radius_km=form.travel_radius_km.data,
                hourly_rate_cents=cents_or_none(form.hourly_rate.data, "hourly_rate"),
                availability={d: getattr(form, d).data for d, _ in WEEKDAYS})
            services.set_skills(current_user, levels)

        ok, _ = attempt(form, save)
        if ok:
            flash("Profile saved.", "success")
            return redirect(url_for("accounts.profile"))
        current_levels = levels
    by_id = {s.id: s for s in skills}
    held = [by_id[sid] for sid in current_levels if sid in by_id]
    held.sort(key=lambda s: (s.category, s.name))
    addable: dict[str, list] = {}
    for s in skills:
        if s.id not in current_levels:
            addable.setdefault(s.category, []).append(s)
    return render_template("accounts/profile.html", form=form, tech=tech, held=held,
                           addable=addable, levels=current_levels, weekdays=WEEKDAYS,
                           skill_levels=list(SkillLevel))


_WHOLE = re.compile(r"[0-9]{1,9}")


def _added_skill(form, known: set[int]) -> dict[int, int]:
    """The skill chosen under "Add a skill" on the plain form, with its level."""
    raw = (form.get("add_skill") or "").strip()
    if not raw:
        return {}
    if not _WHOLE.fullmatch(raw) or int(raw) not in known:
        raise ValidationFailed.field("add_skill", "Choose a skill from the list.")
    level = (form.get("add_level") or str(SkillLevel.INTERMEDIATE.value)).strip()
    if not _WHOLE.fullmatch(level):
        raise ValidationFailed.field("add_level", "Skill levels run from 1 to 4.")
    return {int(raw): int(level)}


def _skill_levels_from(form) -> dict[int, int]:
    levels: dict[int, int] = {}
    for key, value in form.items():
        if key.startswith("skill-") and value and value != "0":
            try:
                levels[int(key[6:])] = int(value)
            except ValueError:
                continue
    return levels
