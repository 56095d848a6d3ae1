"""ticket_events: the history note as a catalogue key and its values

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06 07:00:00

A note the server writes ("assigned to …", "reassigned …", "job cancelled: …")
is kept as a catalogue key (history.<key>) with its values, and shown in the
reader's language; ``note`` keeps the English text as before. Existing rows
keep NULL and are shown as stored.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('note_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('note_params', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_column('note_params')
        batch_op.drop_column('note_key')
