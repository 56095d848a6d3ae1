"""on_call_periods: technicians' on-call duty (值班)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 06:50:00

Spans in which a technician, outside their shifts, stands by to be called out.
Dispatch prefers calling out someone on call to asking someone for overtime
when nobody can meet a deadline (server/dispatch/ranking.py).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('on_call_periods',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('technician_id', sa.Uuid(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'], name=op.f('fk_on_call_periods_technician_id_technicians'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_on_call_periods'))
    )
    with op.batch_alter_table('on_call_periods', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_on_call_periods_technician_id'), ['technician_id'], unique=False)


def downgrade():
    with op.batch_alter_table('on_call_periods', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_on_call_periods_technician_id'))
    op.drop_table('on_call_periods')
