"""Pay: the ledger's functions keep one generic plan per statement instead of planning
each statement again at every call.

PostgreSQL plans a function's statements with the call's values ("custom" plans) while
it judges a generic plan costlier, and with array parameters (the accounts of a post)
it kept judging so: every post was planned afresh, about a quarter of the database's
work in the ledger benchmark. The generic plans are the ones it would use anyway (the
accounts by primary key, the entries of one transaction by its index).

Revision ID: 0031_ledger_plans
Revises: 0030_pay
Create Date: 2026-12-05 18:00:00

"""
from alembic import op

revision = '0031_ledger_plans'
down_revision = '0030_pay'
branch_labels = None
depends_on = None

FUNCTIONS = ("ledger_post(varchar, varchar, varchar, timestamptz, integer[], varchar[], "
             "bigint[], integer[])", "ledger_check_balanced()")


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for function in FUNCTIONS:
            op.execute(f"ALTER FUNCTION {function} SET plan_cache_mode = force_generic_plan")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for function in FUNCTIONS:
            op.execute(f"ALTER FUNCTION {function} RESET plan_cache_mode")
