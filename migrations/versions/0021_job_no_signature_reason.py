"""jobs: why a completed job has no customer signature

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 04:20:00

A job completes only with the customer's signature or a recorded reason it
is missing (sync and REST). Existing jobs keep NULL: the rule applies to
completions from now on.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('no_signature_reason', sa.Enum(
            'customer_absent', 'refused', 'unable', 'other', name='nosignaturereason',
            native_enum=False, length=32), nullable=True))
        batch_op.add_column(sa.Column('no_signature_note', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('no_signature_note')
        batch_op.drop_column('no_signature_reason')
