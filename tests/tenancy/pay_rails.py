"""Firm A's funding (a top-up, net terms), its pay settings (not the defaults, so another
firm's /api/v1/pay/settings never shows them) and technician A's connected account."""
from marketplace.extensions import db
from marketplace.pay import funding, settings
from marketplace.pay.rails_models import ConnectedAccount, TopUp, TopUpStatus
from tests import factories


def build(world: dict) -> None:
    firm = world["firm_a"]
    funding.grant_terms(factories.admin(), firm.id, days=30, credit_limit_cents=123_400)
    settings.update_settings(world["owner_a"], firm.id, auto_approve_days=13,
                             payment_terms_days=30)
    db.session.add(TopUp(firm_id=firm.id, amount_cents=98_700, currency="USD", method="card",
                         payment_method="pm_card_visa", status=TopUpStatus.FAILED,
                         failure_message="Declined " + world["marker"]))
    db.session.add(ConnectedAccount(technician_id=world["tech_a"].technician.id,
                                    stripe_account_id="acct_" + world["marker"],
                                    requirements_due=["external_account"]))
    db.session.commit()


PARAMS = {"firm_id": lambda w: w["firm_a"].id}
