"""scope changes: jobs that left a technician (never pruned), why a reservation was released

``sync_former_jobs`` remembers every job that left a technician's hands, so that
work they did on it offline is taken however late it is pushed (scope exits
are pruned with the retention). Filled from the scope exits still kept.
``reservations.release_reason`` says why stock held for a job went back
(``job_cancelled``, ``job_reassigned``).

Revision ID: 0008
Revises: 0005 (the lead rechains)
Create Date: 2026-11-26 01:40:00

"""
import uuid

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    former = op.create_table('sync_former_jobs',
    sa.Column('technician_id', sa.Uuid(), nullable=False),
    sa.Column('job_id', sa.Uuid(), nullable=False),
    sa.Column('left_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('technician_id', 'job_id', name=op.f('pk_sync_former_jobs'))
    )
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('release_reason', sa.String(length=40), nullable=True))

    exits = sa.table('sync_scope_exits', sa.column('technician_id', sa.Uuid()), sa.column('table_name', sa.String()),
                     sa.column('record_id', sa.String()), sa.column('at', sa.DateTime(timezone=True)))
    connection = op.get_bind()
    rows = {}
    for technician_id, record_id, at in connection.execute(
            sa.select(exits.c.technician_id, exits.c.record_id, exits.c.at).where(exits.c.table_name == 'jobs')):
        key = (technician_id, uuid.UUID(record_id))
        rows[key] = max(at, rows.get(key, at))
    if rows:
        op.bulk_insert(former, [{'technician_id': t, 'job_id': j, 'left_at': at} for (t, j), at in rows.items()])


def downgrade():
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.drop_column('release_reason')
    op.drop_table('sync_former_jobs')
