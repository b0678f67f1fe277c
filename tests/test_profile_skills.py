"""The technician's profile is compact: only the skills they have, each with its level, and
"Add a skill" from the rest of the catalog. It all works as a plain form (no script)."""
from __future__ import annotations

import re

import pytest

from marketplace.accounts.models import Skill, TechnicianSkill
from marketplace.demo.catalog import SKILLS
from marketplace.extensions import db
from tests import factories, pages


def catalog() -> dict[str, Skill]:
    """The demo's whole skills catalog."""
    skills = {slug: Skill(slug=slug, name=name, category=category)
              for slug, name, category, _ in SKILLS}
    db.session.add_all(skills.values())
    db.session.flush()
    return skills


def _form(**extra) -> dict:
    data = {"headline": "Cabling", "bio": "", "phone": "", "postal_code": "75201",
            "travel_radius_km": "40", "hourly_rate": "60.00", "mon": "y"}
    data.update(extra)
    return data


@pytest.fixture
def tech(ctx, client):
    skills = catalog()
    user = factories.technician(postal_code="75201", city="Dallas", state="TX")
    for slug, level in (("cat6-termination", 3), ("cctv", 2)):
        db.session.add(TechnicianSkill(technician_id=user.technician.id,
                                       skill_id=skills[slug].id, level=level))
    db.session.commit()
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD})
    return user, skills


def _held(user) -> dict[str, int]:
    db.session.expire_all()
    return {s.skill.slug: s.level for s in user.technician.skills}


def test_profile_lists_only_the_skills_held_and_offers_the_rest_to_add(client, tech):
    user, skills = tech
    html = client.get("/profile").get_data(as_text=True)
    mine = pages.text(html, "my-skills")
    assert "Cat5e/Cat6 termination" in mine and "CCTV / IP cameras" in mine
    assert "Fiber fusion splicing" not in mine
    assert len(re.findall(r'<select[^>]+name="skill-\d+"', html)) == 2
    add = re.search(r'<select[^>]*name="add_skill".*?</select>', html, re.S).group(0)
    assert len(re.findall(r"<option value=\"\d+\"", add)) == len(SKILLS) - 2
    assert f'value="{skills["cctv"].id}"' not in add
    assert '<optgroup label="Low-voltage">' in add      # grouped by category
    assert 'data-skill-picker' in add                    # the script enhances it


def test_adding_a_skill_with_its_level_through_the_plain_form(client, tech):
    user, skills = tech
    response = client.post("/profile", data=_form(**{
        f"skill-{skills['cat6-termination'].id}": "3", f"skill-{skills['cctv'].id}": "2",
        "add_skill": str(skills["fiber-splicing"].id), "add_level": "4"}))
    assert response.status_code == 302
    assert _held(user) == {"cat6-termination": 3, "cctv": 2, "fiber-splicing": 4}
    mine = pages.text(client.get("/profile").get_data(as_text=True), "my-skills")
    assert "Fiber fusion splicing" in mine


def test_a_level_of_none_removes_a_skill_and_levels_change(client, tech):
    user, skills = tech
    client.post("/profile", data=_form(**{
        f"skill-{skills['cat6-termination'].id}": "4", f"skill-{skills['cctv'].id}": "0",
        "add_skill": ""}))
    assert _held(user) == {"cat6-termination": 4}


@pytest.mark.parametrize("value", ["abc", "999999", "-3"])
def test_adding_an_unknown_skill_is_a_clear_error(client, tech, value):
    user, skills = tech
    response = client.post("/profile", data=_form(**{
        f"skill-{skills['cat6-termination'].id}": "3", f"skill-{skills['cctv'].id}": "2",
        "add_skill": value, "add_level": "2"}))
    assert response.status_code == 200
    assert "Choose a skill from the list." in pages.text(response.get_data(as_text=True))
    assert _held(user) == {"cat6-termination": 3, "cctv": 2}


def test_a_bad_level_for_the_added_skill_is_a_clear_error(client, tech):
    user, skills = tech
    response = client.post("/profile", data=_form(**{
        f"skill-{skills['cat6-termination'].id}": "3",
        "add_skill": str(skills["fiber-splicing"].id), "add_level": "9"}))
    assert "Skill levels run from 1 to 4." in pages.text(response.get_data(as_text=True))
    assert _held(user) == {"cat6-termination": 3, "cctv": 2}
