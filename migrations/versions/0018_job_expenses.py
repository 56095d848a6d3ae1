"""cost inputs (job expenses) and the time indexes the monthly statistics read by

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "job_expenses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.Enum("travel", "transport", "lodging", "meals", "other", name="expensekind",
                                  native_enum=False, length=16), nullable=False),
        sa.Column("amount", sa.Float(), nullable=False),
        sa.Column("travel_minutes", sa.Integer(), nullable=True),
        sa.Column("distance_km", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("incurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_user_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipt_ref", sa.String(length=100), nullable=True),
        sa.CheckConstraint("amount >= 0", name=op.f("ck_job_expenses_amount_not_negative")),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name=op.f("fk_job_expenses_job_id_jobs"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["recorded_by_user_id"], ["users.id"],
                                name=op.f("fk_job_expenses_recorded_by_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_expenses")),
    )
    with op.batch_alter_table("job_expenses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_job_expenses_incurred_at"), ["incurred_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_job_expenses_job_id"), ["job_id"], unique=False)
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_arrived_at"), ["arrived_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_completed_at"), ["completed_at"], unique=False)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_resolved_at"), ["resolved_at"], unique=False)


def downgrade():
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_resolved_at"))
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_jobs_completed_at"))
        batch_op.drop_index(batch_op.f("ix_jobs_arrived_at"))
    with op.batch_alter_table("job_expenses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_job_expenses_job_id"))
        batch_op.drop_index(batch_op.f("ix_job_expenses_incurred_at"))
    op.drop_table("job_expenses")
