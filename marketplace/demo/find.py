"""Demo data for find: templates, pools and ~40 assignments in several states near each firm."""
from __future__ import annotations

import random
from datetime import timedelta

from ..accounts.models import Role, TechnicianStatus
from ..core import clock
from ..core.uploads import Upload
from ..extensions import db
from ..find import assignment_templates as templates_svc
from ..find import assignments as svc
from ..find import attachments, pools
from ..find.match_index import rebuild_index
from ..find.models import AssignmentStatus

JOBS = [
    ("Install 4 IP cameras", "cctv", "Mount and aim four cameras; test recording on the NVR."),
    ("Terminate 24 Cat6 drops", "cat6-termination", "Terminate, label and certify 24 drops."),
    ("POS register swap", "pos-install", "Replace two registers and test card readers."),
    ("Wireless AP refresh", "wifi-install", "Swap six access points, confirm SSIDs."),
    ("Desktop deployment", "desktop-support", "Unbox and image 15 desktops, move user data."),
    ("Rack and stack", "server-rack", "Rack two servers, cable and label power and network."),
    ("Conference room AV", "av-install", "Install a display, camera and soundbar."),
    ("Access control reader", "access-control", "Install two door readers and test badges."),
]
STATES = ([AssignmentStatus.PUBLISHED] * 4 + [AssignmentStatus.DRAFT] * 2 +
          [AssignmentStatus.ASSIGNED, AssignmentStatus.CANCELLED])


def scope_pdf(title: str, lines: list[str]) -> bytes:
    """A one-page PDF with the job's scope: what a demo assignment carries as a file."""
    def esc(text: str) -> str:
        return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
    body = "BT /F1 18 Tf 72 720 Td (" + esc(title) + ") Tj /F1 11 Tf"
    for line in lines:
        body += " 0 -22 Td (" + esc(line) + ") Tj"
    body += " ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        "/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Length {len(body)} >>\nstream\n{body}\nendstream",
    ]
    out, offsets = "%PDF-1.4\n", []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{obj}\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n"
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return out.encode("latin-1")


def _owner(firm):
    return next(m.user for m in firm.memberships if m.role == Role.OWNER)


def seed(rng: random.Random, world: dict) -> dict:
    firms, technicians = world.get("firms", []), world.get("technicians", [])
    by_slug = {s.slug: s for s in world.get("skills", [])}
    db.session.flush()
    created, templates, pool_rows = [], [], []
    today = clock.now().date()
    per_firm = max(1, 40 // max(1, len(firms)))
    for firm in firms:
        owner = _owner(firm)
        for i in range(per_firm):
            title, slug, desc = JOBS[(i + firm.id) % len(JOBS)]
            skill = by_slug.get(slug)
            day = today + timedelta(days=rng.randint(2, 21))
            hour = rng.choice([8, 9, 10, 13, 14])
            a = svc.create_assignment(owner, {
                "title": title, "description": desc,
                "address": f"{rng.randint(100, 9999)} Commerce St, {firm.city}, {firm.state}",
                "skills": {skill.id: rng.choice([1, 2, 3])} if skill else {},
                "start_date": day.isoformat(), "start_time": f"{hour:02d}:00",
                "end_time": f"{hour + 2:02d}:00", "pricing": rng.choice(["fixed", "hourly"]),
                "rate": str(rng.randrange(150, 600, 25)), "hourly_rate": str(rng.randrange(45, 95, 5)),
                "max_hours": "4", "radius_km": rng.choice([40, 60, 80]),
                "checklist": ["Sign in with the site contact", "[photo x2] Photos of the finished work",
                              "[text] Notes for the dispatcher (optional)"]})
            state = STATES[i % len(STATES)]
            if state != AssignmentStatus.DRAFT:
                svc.publish_assignment(owner, a)
            if state == AssignmentStatus.CANCELLED:
                svc.cancel_draft(owner, a)
            elif state == AssignmentStatus.ASSIGNED:
                local = [t for t in technicians if t.city == firm.city]
                if local:
                    a.status, a.assignee_id = AssignmentStatus.ASSIGNED, rng.choice(local).id
            created.append(a)
            if i == 0:
                # The standard job carries its scope of work; the template takes it along.
                attachments.add_attachment(owner, a, Upload("scope-of-work.pdf", scope_pdf(
                    title, [desc, "Site contact: front desk on arrival.",
                            "Leave the area as you found it."])))
                templates.append(templates_svc.save_as_template(owner, a, f"{title} (standard)"))
        pool = pools.create_pool(owner, name=f"{firm.city} regulars", visibility="private")
        public = pools.create_pool(owner, name=f"{firm.city} open bench", visibility="public",
                                   description="Apply to hear about our work first.")
        for tech in [t for t in technicians if t.city == firm.city][:8]:
            pools.add_member(owner, pool, tech.id)
            if tech.status == TechnicianStatus.ACTIVE:
                pools.accept_invitation(tech, pool)  # the regulars said yes
        pool_rows += [pool, public]
    db.session.flush()
    rebuild_index()
    return {"assignments": created, "templates": templates, "pools": pool_rows}
