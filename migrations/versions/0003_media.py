"""media: blob image facts, tus uploads, the after-commit task queue, signing links,
signed report snapshots

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25 22:59:09.206396

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('media_tasks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('blob_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('run_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_tasks'))
    )
    with op.batch_alter_table('media_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_media_tasks_pending', ['done_at', 'run_after'], unique=False)

    op.create_table('uploads',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('length', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('upload_metadata', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_uploads_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_uploads'))
    )
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_uploads_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploads_sha256'), ['sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_uploads_user_id'), ['user_id'], unique=False)

    op.create_table('signing_links',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('job_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('signature_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_signing_links_created_by_id_users')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_signing_links_job_id_jobs')),
    sa.ForeignKeyConstraint(['signature_id'], ['signatures.id'], name=op.f('fk_signing_links_signature_id_signatures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_signing_links_token_hash'))
    )
    with op.batch_alter_table('signing_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signing_links_job_id'), ['job_id'], unique=False)

    with op.batch_alter_table('blobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('image_format', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('width', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('height', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('latitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('longitude', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('thumbnails_at', sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.add_column(sa.Column('report_snapshot', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('signed_via', sa.String(length=16), server_default='device', nullable=False))



def downgrade():
    with op.batch_alter_table('signatures', schema=None) as batch_op:
        batch_op.drop_column('signed_via')
        batch_op.drop_column('report_snapshot')

    with op.batch_alter_table('blobs', schema=None) as batch_op:
        batch_op.drop_column('thumbnails_at')
        batch_op.drop_column('longitude')
        batch_op.drop_column('latitude')
        batch_op.drop_column('taken_at')
        batch_op.drop_column('height')
        batch_op.drop_column('width')
        batch_op.drop_column('image_format')

    with op.batch_alter_table('signing_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_links_job_id'))

    op.drop_table('signing_links')
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_uploads_user_id'))
        batch_op.drop_index(batch_op.f('ix_uploads_sha256'))
        batch_op.drop_index(batch_op.f('ix_uploads_expires_at'))

    op.drop_table('uploads')
    with op.batch_alter_table('media_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_media_tasks_pending')

    op.drop_table('media_tasks')
