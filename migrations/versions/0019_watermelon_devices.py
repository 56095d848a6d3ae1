"""WatermelonDB devices: their latest pull and how far their pushes have come

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 04:10:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'sync_watermelon_devices',
        sa.Column('device_id', sa.Uuid(), nullable=False),
        sa.Column('pulled_through', sa.BigInteger(), nullable=False),
        sa.Column('pulled_since', sa.BigInteger(), nullable=False),
        sa.Column('pushed_through', sa.BigInteger(), nullable=False),
        sa.Column('pushed_before', sa.BigInteger(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('device_id', name=op.f('pk_sync_watermelon_devices')),
    )


def downgrade():
    op.drop_table('sync_watermelon_devices')
