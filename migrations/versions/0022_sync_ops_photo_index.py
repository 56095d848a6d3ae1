"""sync_ops: photos' create operations found by record

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06 05:30:00

A WatermelonDB pull files a photo the device itself created under
``updated`` when the server sends it back (after reading its image facts);
it asks the op log which device created it. A partial index: photos are a
small share of the operations pushed.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

PHOTOS = "table_name = 'photos'"


def upgrade():
    op.create_index('ix_sync_ops_photo_record', 'sync_ops', ['record_id'], unique=False,
                    sqlite_where=sa.text(PHOTOS), postgresql_where=sa.text(PHOTOS))


def downgrade():
    op.drop_index('ix_sync_ops_photo_record', table_name='sync_ops')
