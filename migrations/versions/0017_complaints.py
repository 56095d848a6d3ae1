"""complaints to closure: each complaint ticket's stage and findings, and every step (who, when, what)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06 04:14:06.541847

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('complaints',
    sa.Column('ticket_id', sa.Uuid(), nullable=False),
    sa.Column('stage', sa.Enum('received', 'confirmed', 'analysed', 'responsibility', 'remedy_agreed', 'followed_up', 'closed', name='complaintstage', native_enum=False, length=32), nullable=False),
    sa.Column('cause', sa.Text(), nullable=True),
    sa.Column('responsible_department', sa.String(length=200), nullable=True),
    sa.Column('responsible_person', sa.String(length=200), nullable=True),
    sa.Column('remedy', sa.Text(), nullable=True),
    sa.Column('follow_up_result', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_complaints_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_complaints'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_stage'), ['stage'], unique=False)

    op.create_table('complaint_steps',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ticket_id', sa.Uuid(), nullable=False),
    sa.Column('step', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_user_id', sa.Uuid(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('to_user_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_complaint_steps_by_user_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['complaints.ticket_id'], name=op.f('fk_complaint_steps_ticket_id_complaints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['to_user_id'], ['users.id'], name=op.f('fk_complaint_steps_to_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_steps'))
    )
    with op.batch_alter_table('complaint_steps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_steps_ticket_id'), ['ticket_id'], unique=False)



def downgrade():
    with op.batch_alter_table('complaint_steps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_steps_ticket_id'))

    op.drop_table('complaint_steps')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_stage'))

    op.drop_table('complaints')
