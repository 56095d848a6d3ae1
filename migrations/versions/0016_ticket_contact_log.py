"""ticket contact log

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 04:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ticket_contacts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('ticket_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('call', 'visit', 'message', 'letter', 'email', 'note', name='contactkind', native_enum=False, length=32), nullable=False),
    sa.Column('inbound', sa.Boolean(), nullable=False),
    sa.Column('person', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_user_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_ticket_contacts_by_user_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_contacts_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_contacts'))
    )
    with op.batch_alter_table('ticket_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_contacts_ticket_id'), ['ticket_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ticket_contacts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_contacts_ticket_id'))

    op.drop_table('ticket_contacts')
