"""Money: currencies on offers, counteroffers and cancellations; agreed price and expenses apart.

Revision ID: 0010_money_currency
Revises: 0009_outbox
Create Date: 2026-12-06 09:00:00

Existing rows take their assignment's currency. Accepting a counteroffer used to
fold its expenses into the offer's price; the split is restored from the accepted
counteroffer where the sum still matches, and the assignee's agreed terms are
copied onto the assignment. Downgrading folds them again.
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_money_currency'
down_revision = '0009_outbox'
branch_labels = None
depends_on = None

_CURRENCY_TABLES = ('offers', 'counteroffers', 'cancellations')
# The latest accepted counteroffer of an offer.
_ACCEPTED = ("FROM counteroffers c WHERE c.offer_id = offers.id AND c.status = 'accepted' "
             "ORDER BY c.id DESC LIMIT 1")
_AGREED_OFFER = ("FROM offers o WHERE o.assignment_id = assignments.id "
                 "AND o.technician_id = assignments.assignee_id AND o.status = 'accepted'")


def upgrade():
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expenses_cents', sa.Integer(), nullable=False,
                                      server_default='0'))
    for table in _CURRENCY_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=False,
                                          server_default='USD'))
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('agreed_price_cents', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('agreed_expenses_cents', sa.Integer(), nullable=True))

    run = op.get_bind().execute
    run(sa.text("UPDATE offers SET currency = (SELECT a.currency FROM assignments a "
                "WHERE a.id = offers.assignment_id)"))
    run(sa.text("UPDATE cancellations SET currency = (SELECT a.currency FROM assignments a "
                "WHERE a.id = cancellations.assignment_id)"))
    run(sa.text("UPDATE counteroffers SET currency = (SELECT o.currency FROM offers o "
                "WHERE o.id = counteroffers.offer_id)"))
    run(sa.text(f"UPDATE offers SET price_cents = (SELECT c.price_cents {_ACCEPTED}), "
                f"expenses_cents = (SELECT c.expenses_cents {_ACCEPTED}) "
                f"WHERE status = 'accepted' AND price_cents = "
                f"(SELECT c.price_cents + c.expenses_cents {_ACCEPTED}) "
                f"AND (SELECT c.expenses_cents {_ACCEPTED}) > 0"))
    run(sa.text(f"UPDATE assignments SET "
                f"agreed_price_cents = (SELECT o.price_cents {_AGREED_OFFER}), "
                f"agreed_expenses_cents = (SELECT o.expenses_cents {_AGREED_OFFER}) "
                f"WHERE assignee_id IS NOT NULL"))


def downgrade():
    op.get_bind().execute(sa.text(
        "UPDATE offers SET price_cents = price_cents + expenses_cents "
        "WHERE status = 'accepted' AND expenses_cents > 0"))
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_column('agreed_expenses_cents')
        batch_op.drop_column('agreed_price_cents')
    for table in reversed(_CURRENCY_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('currency')
    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.drop_column('expenses_cents')
