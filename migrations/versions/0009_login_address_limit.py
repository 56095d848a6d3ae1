"""login failures looked up by client address

The per-address login limit counts recent failures from one address across
usernames; this index keeps that count cheap.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 01:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_login_failures_remote_addr_at', 'login_failures', ['remote_addr', 'at'], unique=False)


def downgrade():
    op.drop_index('ix_login_failures_remote_addr_at', table_name='login_failures')
