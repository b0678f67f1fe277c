"""Find's forms. They check shape; the services check the rules."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from . import checklist
from .models import WINDOW_RULE


class AssignmentForm(FlaskForm):
    title = StringField("Title")
    description = TextAreaField("Description")
    address = StringField("Site address", description="Street, city, state and ZIP code.")
    skills = SelectMultipleField("Required skills", coerce=int, validators=[Optional()])
    skill_level = SelectField("Minimum level for each skill", coerce=int, default=2,
                              choices=[(1, "Entry"), (2, "Intermediate"), (3, "Advanced"),
                                       (4, "Expert")])
    requirement_set_id = SelectField("Requirement set", coerce=int, default=0)
    radius_km = IntegerField("Search radius (km)", default=50, validators=[Optional()])
    schedule_kind = SelectField("Schedule", choices=[("window", "Arrival window"),
                                                     ("flexible", "Flexible range")],
                                description=WINDOW_RULE)
    start_date = StringField("Date", render_kw={"type": "date"})
    end_date = StringField("Last day (flexible range)", render_kw={"type": "date"})
    start_time = StringField("From", render_kw={"type": "time"})
    end_time = StringField("To", render_kw={"type": "time"})
    pricing = SelectField("Pricing", choices=[("fixed", "Fixed price"), ("hourly", "Hourly"),
                                              ("blended", "Blended")])
    rate = StringField("Fixed price ($)")
    hourly_rate = StringField("Hourly rate ($)")
    max_hours = StringField("Maximum hours")
    fixed_hours = StringField("Hours covered by the fixed price (blended)")
    checklist = TextAreaField(
        "Checklist", description="One task per line; a kind in brackets makes it typed: "
        "[photo x2] Photos of the rack · [number dBm -90..-20] Signal · "
        "[choice Pass|Fail] Result · [signature] Customer sign-off · [text] Notes · "
        "[file] Test report. Add (optional) at the end of a task that is not required.")
    geofence_m = IntegerField("Check-in radius (m)", validators=[Optional()],
                              description="How far from the site a check-in counts as "
                                          "on site; your firm's default when blank.")
    sla_response_minutes = IntegerField("SLA: accepted within (minutes of publishing)",
                                        validators=[Optional()])
    sla_arrival_minutes = IntegerField("SLA: on site within (minutes after the start)",
                                       validators=[Optional()])
    sla_completion_minutes = IntegerField("SLA: submitted within (minutes after the end)",
                                          validators=[Optional()])
    publish = BooleanField("Publish now")
    # The version the editor opened: an edit saves only onto that version.
    version = HiddenField()

    def values(self) -> dict:
        level = self.skill_level.data or 2
        return {
            "title": self.title.data, "description": self.description.data,
            "address": self.address.data,
            "skills": {sid: level for sid in (self.skills.data or [])},
            "requirement_set_id": self.requirement_set_id.data or None,
            "radius_km": self.radius_km.data, "schedule_kind": self.schedule_kind.data,
            "start_date": self.start_date.data, "end_date": self.end_date.data,
            "start_time": self.start_time.data, "end_time": self.end_time.data,
            "pricing": self.pricing.data, "rate": self.rate.data,
            "hourly_rate": self.hourly_rate.data, "max_hours": self.max_hours.data,
            "fixed_hours": self.fixed_hours.data,
            "checklist": self.checklist.data, "geofence_m": self.geofence_m.data,
            "sla_response_minutes": self.sla_response_minutes.data,
            "sla_arrival_minutes": self.sla_arrival_minutes.data,
            "sla_completion_minutes": self.sla_completion_minutes.data,
        }

    def prefill(self, data: dict) -> None:
        """Fill from service values (a template, a duplicate)."""
        from ..core.money import cents_to_decimal_str
        for name in ("title", "description", "address", "radius_km", "schedule_kind",
                     "start_date", "end_date", "start_time", "end_time", "pricing",
                     "max_hours", "fixed_hours"):
            if data.get(name) not in (None,):
                getattr(self, name).data = data[name]
        self.requirement_set_id.data = data.get("requirement_set_id") or 0
        skills = data.get("skills") or {}
        self.skills.data = [int(s) for s in skills]
        if skills:
            self.skill_level.data = max(int(v) for v in skills.values())
        if data.get("rate_cents"):
            self.rate.data = cents_to_decimal_str(data["rate_cents"])
        if data.get("hourly_rate_cents"):
            self.hourly_rate.data = cents_to_decimal_str(data["hourly_rate_cents"])
        self.checklist.data = checklist.as_text(data.get("checklist"))
        self.geofence_m.data = data.get("geofence_m")
        for name in ("sla_response_minutes", "sla_arrival_minutes", "sla_completion_minutes"):
            getattr(self, name).data = data.get(name)


class CsvForm(FlaskForm):
    file = FileField("CSV file")
    publish = BooleanField("Publish the created assignments")
    allow_duplicates = BooleanField("Create rows that repeat another's title, address and time")


class TemplateForm(FlaskForm):
    name = StringField("Template name")


class TemplateEditForm(AssignmentForm):
    """A template: the assignment's fields but the date, and a name."""
    name = StringField("Template name")


class AttachmentForm(FlaskForm):
    file = FileField("File (PDF, JPEG or PNG)",
                     description="Site maps, wiring diagrams, work orders.")


class PoolForm(FlaskForm):
    name = StringField("Name")
    description = TextAreaField("Description")
    visibility = SelectField("Who can join", choices=[
        ("private", "Private: you add members"), ("invite_only", "Invite-only"),
        ("public", "Public: technicians apply")])
    requirement_set_id = SelectField("Requirement set", coerce=int, default=0)


class MemberForm(FlaskForm):
    # A name picked from the directory's suggestions ("Dana Reyes · Dallas, TX · #12") or
    # typed; find.directory.pick resolves it, or says why it cannot.
    technician_id = StringField("Technician", render_kw={
        "autocomplete": "off", "placeholder": "Type a name", "list": "technician-options"})
    action = SelectField("Action", choices=[("invite", "Invite (they accept to join)"),
                                            ("approve", "Approve application"),
                                            ("remove", "Remove")])
