"""dispatch actions: overrides, reassignments and cancellations with their reasons

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:40:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

def upgrade():
    op.create_table('dispatch_actions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('ticket_id', sa.Uuid(), nullable=False),
    sa.Column('job_id', sa.Uuid(), nullable=True),
    sa.Column('technician_id', sa.Uuid(), nullable=True),
    sa.Column('from_technician_id', sa.Uuid(), nullable=True),
    sa.Column('flags', sa.String(length=200), nullable=False),
    sa.Column('late_by_minutes', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('by_user_id', sa.Uuid(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_dispatch_actions_by_user_id_users')),
    sa.ForeignKeyConstraint(['from_technician_id'], ['technicians.id'], name=op.f('fk_dispatch_actions_from_technician_id_technicians')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_dispatch_actions_job_id_jobs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'], name=op.f('fk_dispatch_actions_technician_id_technicians')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_dispatch_actions_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dispatch_actions'))
    )
    with op.batch_alter_table('dispatch_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_dispatch_actions_job_id'), ['job_id'], unique=False)
        batch_op.create_index('ix_dispatch_actions_kind_at', ['kind', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_dispatch_actions_ticket_id'), ['ticket_id'], unique=False)


def downgrade():
    with op.batch_alter_table('dispatch_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dispatch_actions_ticket_id'))
        batch_op.drop_index('ix_dispatch_actions_kind_at')
        batch_op.drop_index(batch_op.f('ix_dispatch_actions_job_id'))

    op.drop_table('dispatch_actions')
