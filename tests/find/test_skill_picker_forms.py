"""The assignment and template forms offer the skills grouped by category, marked for the
skill picker (static/js/skill-picker.js), and keep working as a plain list box."""
from __future__ import annotations

import re

from marketplace.extensions import db
from marketplace.find import assignment_templates
from tests import factories, pages
from tests.test_profile_skills import catalog


def _skills_select(html: str) -> str:
    return re.search(r'<select[^>]*id="skills".*?</select>', html, re.S).group(0)


def test_assignment_and_template_forms_group_skills_for_the_picker(ctx, client):
    skills = catalog()
    owner = factories.firm_user()
    template = assignment_templates.create_template(owner, "Cameras", {
        "title": "Install cameras", "address": "Dallas, TX 75201", "pricing": "fixed",
        "rate": "240", "start_time": "09:00", "end_time": "11:00",
        "skills": {skills["cctv"].id: 2}})
    db.session.commit()
    client.post("/login", data={"email": owner.email, "password": factories.PASSWORD})
    for path in ("/assignments/new", f"/templates/{template.id}/edit"):
        html = client.get(path).get_data(as_text=True)
        select = _skills_select(html)
        assert 'multiple' in select and 'data-skill-picker="multiple"' in select
        assert '<optgroup label="Security">' in select
        assert "/static/js/skill-picker.js" in html
    assert re.search(rf'<option selected value="{skills["cctv"].id}">|'
                     rf'<option value="{skills["cctv"].id}" selected>', select)
    assert "Required skills" in pages.text(html)
