"""Firm A's members, invitations and API tokens."""
from marketplace.accounts import services, tokens
from marketplace.accounts.models import Role
from marketplace.extensions import db
from tests import factories


def build(world: dict) -> None:
    dispatcher = factories.firm_user(Role.DISPATCHER, firm=world["firm_a"],
                                     name="Secret Dispatcher " + world["marker"])
    invitation, _ = services.invite_member(world["owner_a"], email="invitee-a@example.com",
                                           role="dispatcher")
    token, _ = tokens.issue_api_token(world["owner_a"], "A token " + world["marker"])
    tech_token, _ = tokens.issue_api_token(world["tech_a"], "Tech token " + world["marker"])
    db.session.commit()
    world.update(member_a=dispatcher.membership, invitation_a=invitation, token_a=token,
                 tech_token_a=tech_token)


PARAMS = {
    "member_id": lambda w: w["member_a"].id,
    "invitation_id": lambda w: w["invitation_a"].id,
    "token_id": lambda w: w["token_a"].id,
}
# Routes whose string parameters are secrets rather than ids.
SECRET_PARAMS = {"token": "not-a-real-invitation-token"}
