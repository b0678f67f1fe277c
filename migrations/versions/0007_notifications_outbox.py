"""Notifications as a bulk outbox: no per-row FK check, partial dedupe index.

The sweep writes thousands of notifications at once; only keyed ones are
indexed for uniqueness.

Revision ID: 0007_notifications_outbox
Revises: 0006_find_attachments
Create Date: 2026-12-04 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007_notifications_outbox'
down_revision = '0006_find_attachments'
branch_labels = None
depends_on = None

KEYED = sa.text("dedupe_key IS NOT NULL")


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_constraint('fk_notifications_user_id_users', type_='foreignkey')
        batch_op.drop_constraint('uq_notifications_dedupe_key', type_='unique')
    op.create_index('uq_notifications_dedupe_key', 'notifications', ['dedupe_key'],
                    unique=True, sqlite_where=KEYED, postgresql_where=KEYED)


def downgrade():
    op.drop_index('uq_notifications_dedupe_key', table_name='notifications')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_notifications_dedupe_key', ['dedupe_key'])
        batch_op.create_foreign_key('fk_notifications_user_id_users', 'users',
                                    ['user_id'], ['id'])
