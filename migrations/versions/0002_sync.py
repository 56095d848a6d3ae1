"""sync engine tables

Change log (one row per record, positions given at commit),
scope exits (tombstones per technician), the position counter, the record of
applied operations (exactly once) and conflict records.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 23:04:30.693582

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sync_changes',
    sa.Column('table_name', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.String(length=80), nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('origin_device', sa.Uuid(), nullable=True),
    sa.Column('scope_job', sa.Uuid(), nullable=True),
    sa.Column('scope_location', sa.Uuid(), nullable=True),
    sa.Column('scope_technician', sa.Uuid(), nullable=True),
    sa.Column('field_versions', sa.JSON(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('table_name', 'record_id', name=op.f('pk_sync_changes')),
    sa.UniqueConstraint('position', name=op.f('uq_sync_changes_position'))
    )
    with op.batch_alter_table('sync_changes', schema=None) as batch_op:
        batch_op.create_index('ix_sync_changes_scope_job_position', ['scope_job', 'position'], unique=False)
        batch_op.create_index('ix_sync_changes_scope_location_position', ['scope_location', 'position'], unique=False)
        batch_op.create_index('ix_sync_changes_scope_technician_position', ['scope_technician', 'position'], unique=False)
        batch_op.create_index('ix_sync_changes_table_name_position', ['table_name', 'position'], unique=False)

    counter = op.create_table('sync_counter',
    sa.Column('id', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('pruned_through', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_counter'))
    )
    # The one counter row; every commit that changes a syncable record locks it last.
    op.bulk_insert(counter, [{"id": 1, "position": 0, "pruned_through": 0}])
    op.create_table('sync_scope_exits',
    sa.Column('position', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('technician_id', sa.Uuid(), nullable=False),
    sa.Column('table_name', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.String(length=80), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('position', name=op.f('pk_sync_scope_exits'))
    )
    with op.batch_alter_table('sync_scope_exits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_scope_exits_at'), ['at'], unique=False)
        batch_op.create_index('ix_sync_scope_exits_technician_position', ['technician_id', 'position'], unique=False)

    op.create_table('sync_conflicts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('table_name', sa.String(length=40), nullable=False),
    sa.Column('record_id', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('op_id', sa.Uuid(), nullable=True),
    sa.Column('device_id', sa.Uuid(), nullable=True),
    sa.Column('technician_id', sa.Uuid(), nullable=True),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.Uuid(), nullable=True),
    sa.Column('resolution', sa.JSON(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['resolved_by'], ['users.id'], name=op.f('fk_sync_conflicts_resolved_by_users')),
    sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'], name=op.f('fk_sync_conflicts_technician_id_technicians')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_conflicts'))
    )
    with op.batch_alter_table('sync_conflicts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_conflicts_record_id'), ['record_id'], unique=False)
        batch_op.create_index('ix_sync_conflicts_status_created_at', ['status', 'created_at'], unique=False)

    op.create_table('sync_ops',
    sa.Column('op_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('device_id', sa.Uuid(), nullable=True),
    sa.Column('table_name', sa.String(length=40), nullable=True),
    sa.Column('record_id', sa.String(length=80), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.JSON(), nullable=False),
    sa.Column('device_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_sync_ops_device_id_devices')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sync_ops_user_id_users')),
    sa.PrimaryKeyConstraint('op_id', name=op.f('pk_sync_ops'))
    )
    with op.batch_alter_table('sync_ops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_ops_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_ops_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('sync_ops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_ops_user_id'))
        batch_op.drop_index(batch_op.f('ix_sync_ops_device_id'))

    op.drop_table('sync_ops')
    with op.batch_alter_table('sync_conflicts', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_conflicts_status_created_at')
        batch_op.drop_index(batch_op.f('ix_sync_conflicts_record_id'))

    op.drop_table('sync_conflicts')
    with op.batch_alter_table('sync_scope_exits', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_scope_exits_technician_position')
        batch_op.drop_index(batch_op.f('ix_sync_scope_exits_at'))

    op.drop_table('sync_scope_exits')
    op.drop_table('sync_counter')
    with op.batch_alter_table('sync_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_changes_table_name_position')
        batch_op.drop_index('ix_sync_changes_scope_technician_position')
        batch_op.drop_index('ix_sync_changes_scope_location_position')
        batch_op.drop_index('ix_sync_changes_scope_job_position')

    op.drop_table('sync_changes')
