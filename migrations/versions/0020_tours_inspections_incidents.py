"""proactive service and incidents: tours and their stops (pre-contact, route),
inspection schedules, inspections and findings, incidents with the customers
and assets they hit, who was told, the rescue plan and the fault report

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 04:32:33.771168

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('incidents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('open', 'plan_submitted', 'plan_approved', 'resolved', 'closed', name='incidentstatus', native_enum=False, length=32), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reported_by_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('plan_repair_hours', sa.Float(), nullable=True),
    sa.Column('plan_people', sa.Integer(), nullable=True),
    sa.Column('plan_lead', sa.String(length=200), nullable=True),
    sa.Column('plan_tools', sa.Text(), nullable=True),
    sa.Column('plan_parts', sa.JSON(), nullable=True),
    sa.Column('plan_cost', sa.Float(), nullable=True),
    sa.Column('plan_submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('plan_submitted_by_id', sa.Uuid(), nullable=True),
    sa.Column('plan_approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('plan_approved_by_id', sa.Uuid(), nullable=True),
    sa.Column('parts_issued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('report_cause', sa.Text(), nullable=True),
    sa.Column('report_actions', sa.Text(), nullable=True),
    sa.Column('report_prevention', sa.Text(), nullable=True),
    sa.Column('report_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('report_by_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['plan_approved_by_id'], ['users.id'], name=op.f('fk_incidents_plan_approved_by_id_users')),
    sa.ForeignKeyConstraint(['plan_submitted_by_id'], ['users.id'], name=op.f('fk_incidents_plan_submitted_by_id_users')),
    sa.ForeignKeyConstraint(['report_by_id'], ['users.id'], name=op.f('fk_incidents_report_by_id_users')),
    sa.ForeignKeyConstraint(['reported_by_id'], ['users.id'], name=op.f('fk_incidents_reported_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incidents'))
    )
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incidents_status'), ['status'], unique=False)

    op.create_table('incident_notices',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('incident_id', sa.Uuid(), nullable=False),
    sa.Column('person', sa.String(length=200), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=False),
    sa.Column('notified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Uuid(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_notices_incident_id_incidents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_incident_notices_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_notices'))
    )
    with op.batch_alter_table('incident_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_notices_incident_id'), ['incident_id'], unique=False)

    op.create_table('tours',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('city', sa.String(length=100), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('technician_id', sa.Uuid(), nullable=True),
    sa.Column('created_by_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('planned_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_tours_created_by_id_users')),
    sa.ForeignKeyConstraint(['technician_id'], ['technicians.id'], name=op.f('fk_tours_technician_id_technicians')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tours'))
    )
    with op.batch_alter_table('tours', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tours_city'), ['city'], unique=False)

    op.create_table('incident_affected',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('incident_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('asset_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_incident_affected_asset_id_assets')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_incident_affected_customer_id_customers')),
    sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], name=op.f('fk_incident_affected_incident_id_incidents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_incident_affected')),
    sa.UniqueConstraint('incident_id', 'customer_id', 'asset_id', name=op.f('uq_incident_affected_incident_id_customer_id_asset_id'))
    )
    with op.batch_alter_table('incident_affected', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_affected_incident_id'), ['incident_id'], unique=False)

    op.create_table('inspection_schedules',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('asset_id', sa.Uuid(), nullable=False),
    sa.Column('interval_days', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_inspection_schedules_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_schedules')),
    sa.UniqueConstraint('asset_id', name=op.f('uq_inspection_schedules_asset_id'))
    )
    op.create_table('asset_inspections',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('schedule_id', sa.Uuid(), nullable=False),
    sa.Column('asset_id', sa.Uuid(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('due', 'done', name='inspectionstatus', native_enum=False, length=32), nullable=False),
    sa.Column('inspected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('inspected_by_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_asset_inspections_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inspected_by_id'], ['users.id'], name=op.f('fk_asset_inspections_inspected_by_id_users')),
    sa.ForeignKeyConstraint(['schedule_id'], ['inspection_schedules.id'], name=op.f('fk_asset_inspections_schedule_id_inspection_schedules'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_asset_inspections')),
    sa.UniqueConstraint('schedule_id', 'due_on', name=op.f('uq_asset_inspections_schedule_id_due_on'))
    )
    with op.batch_alter_table('asset_inspections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_asset_inspections_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_asset_inspections_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_asset_inspections_schedule_id'), ['schedule_id'], unique=False)

    op.create_table('inspection_findings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('inspection_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('ticket_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['inspection_id'], ['asset_inspections.id'], name=op.f('fk_inspection_findings_inspection_id_asset_inspections'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_inspection_findings_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inspection_findings'))
    )
    with op.batch_alter_table('inspection_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inspection_findings_inspection_id'), ['inspection_id'], unique=False)

    op.create_table('tour_stops',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('tour_id', sa.Uuid(), nullable=False),
    sa.Column('site_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'agreed', 'declined', 'planned', name='stopstatus', native_enum=False, length=32), nullable=False),
    sa.Column('contacted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('contacted_by_id', sa.Uuid(), nullable=True),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('asset_id', sa.Uuid(), nullable=True),
    sa.Column('model', sa.String(length=64), nullable=True),
    sa.Column('symptoms', sa.Text(), nullable=True),
    sa.Column('estimated_hours', sa.Float(), nullable=True),
    sa.Column('estimated_cost', sa.Float(), nullable=True),
    sa.Column('visit_on', sa.Date(), nullable=True),
    sa.Column('route_order', sa.Integer(), nullable=True),
    sa.Column('job_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_tour_stops_asset_id_assets')),
    sa.ForeignKeyConstraint(['contacted_by_id'], ['users.id'], name=op.f('fk_tour_stops_contacted_by_id_users')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_tour_stops_customer_id_customers')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_tour_stops_job_id_jobs')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_tour_stops_site_id_sites')),
    sa.ForeignKeyConstraint(['tour_id'], ['tours.id'], name=op.f('fk_tour_stops_tour_id_tours'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tour_stops')),
    sa.UniqueConstraint('tour_id', 'site_id', name=op.f('uq_tour_stops_tour_id_site_id'))
    )
    with op.batch_alter_table('tour_stops', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tour_stops_tour_id'), ['tour_id'], unique=False)



def downgrade():
    with op.batch_alter_table('tour_stops', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tour_stops_tour_id'))

    op.drop_table('tour_stops')
    with op.batch_alter_table('inspection_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inspection_findings_inspection_id'))

    op.drop_table('inspection_findings')
    with op.batch_alter_table('asset_inspections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_asset_inspections_schedule_id'))
        batch_op.drop_index(batch_op.f('ix_asset_inspections_due_on'))
        batch_op.drop_index(batch_op.f('ix_asset_inspections_asset_id'))

    op.drop_table('asset_inspections')
    op.drop_table('inspection_schedules')
    with op.batch_alter_table('incident_affected', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_affected_incident_id'))

    op.drop_table('incident_affected')
    with op.batch_alter_table('tours', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tours_city'))

    op.drop_table('tours')
    with op.batch_alter_table('incident_notices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_notices_incident_id'))

    op.drop_table('incident_notices')
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incidents_status'))

    op.drop_table('incidents')
