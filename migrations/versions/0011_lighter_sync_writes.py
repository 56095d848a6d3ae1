"""lighter sync writes: partial scope indexes on the change log, no key checks on the op log

Every pushed operation writes a change-log row and an op-log row. A change
row has at most one scope column set, so each scope index now holds only the
rows that set it, and the by-table index only the rows that set none (partial
indexes: one index entry per row instead of four).
The op log's user and device are provenance copied from the authenticated
token; their foreign keys and indexes are dropped (users and devices are never
deleted, rows are only looked up by op_id, and the key checks cost PostgreSQL
more per row than the row itself).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

SCOPES = ('scope_job', 'scope_location', 'scope_technician')
UNSCOPED = 'scope_job IS NULL AND scope_location IS NULL AND scope_technician IS NULL'


def upgrade():
    with op.batch_alter_table('sync_changes', schema=None) as batch_op:
        for column in SCOPES:
            batch_op.drop_index(f'ix_sync_changes_{column}_position')
            where = sa.text(f'{column} IS NOT NULL')
            batch_op.create_index(f'ix_sync_changes_{column}_position', [column, 'position'], unique=False,
                                  sqlite_where=where, postgresql_where=where)
        batch_op.drop_index('ix_sync_changes_table_name_position')
        batch_op.create_index('ix_sync_changes_unscoped_table_position', ['table_name', 'position'], unique=False,
                              sqlite_where=sa.text(UNSCOPED), postgresql_where=sa.text(UNSCOPED))
    with op.batch_alter_table('sync_ops', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_ops_device_id')
        batch_op.drop_index('ix_sync_ops_user_id')
        batch_op.drop_constraint('fk_sync_ops_device_id_devices', type_='foreignkey')
        batch_op.drop_constraint('fk_sync_ops_user_id_users', type_='foreignkey')


def downgrade():
    with op.batch_alter_table('sync_ops', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_sync_ops_user_id_users', 'users', ['user_id'], ['id'])
        batch_op.create_foreign_key('fk_sync_ops_device_id_devices', 'devices', ['device_id'], ['id'])
        batch_op.create_index('ix_sync_ops_user_id', ['user_id'], unique=False)
        batch_op.create_index('ix_sync_ops_device_id', ['device_id'], unique=False)
    with op.batch_alter_table('sync_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_sync_changes_unscoped_table_position')
        batch_op.create_index('ix_sync_changes_table_name_position', ['table_name', 'position'], unique=False)
        for column in SCOPES:
            batch_op.drop_index(f'ix_sync_changes_{column}_position')
            batch_op.create_index(f'ix_sync_changes_{column}_position', [column, 'position'], unique=False)
