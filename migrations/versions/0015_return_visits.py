"""return visits: the scheduled calls of each installed asset and each call made

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 03:58:40.307590

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('return_visits',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('asset_id', sa.Uuid(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('next_call_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('due', 'done', name='returnvisitstatus', native_enum=False, length=32), nullable=False),
    sa.Column('outcome', sa.Enum('satisfied', 'problem', 'call_back', 'unreachable', name='calloutcome', native_enum=False, length=32), nullable=True),
    sa.Column('ticket_id', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_return_visits_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_return_visits_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_visits')),
    sa.UniqueConstraint('asset_id', 'due_on', name=op.f('uq_return_visits_asset_id_due_on'))
    )
    with op.batch_alter_table('return_visits', schema=None) as batch_op:
        batch_op.create_index('ix_return_visits_status_next_call_on', ['status', 'next_call_on'], unique=False)

    op.create_table('return_visit_calls',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('visit_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_user_id', sa.Uuid(), nullable=False),
    sa.Column('outcome', sa.Enum('satisfied', 'problem', 'call_back', 'unreachable', name='calloutcome', native_enum=False, length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('call_back_on', sa.Date(), nullable=True),
    sa.Column('ticket_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_return_visit_calls_by_user_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_return_visit_calls_ticket_id_tickets')),
    sa.ForeignKeyConstraint(['visit_id'], ['return_visits.id'], name=op.f('fk_return_visit_calls_visit_id_return_visits'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_return_visit_calls'))
    )
    with op.batch_alter_table('return_visit_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_return_visit_calls_visit_id'), ['visit_id'], unique=False)



def downgrade():
    with op.batch_alter_table('return_visit_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_return_visit_calls_visit_id'))

    op.drop_table('return_visit_calls')
    with op.batch_alter_table('return_visits', schema=None) as batch_op:
        batch_op.drop_index('ix_return_visits_status_next_call_on')

    op.drop_table('return_visits')
