"""stock ledger: transfers, counts, purchase requests, serials, discrepancies

Adds discrepancies, purchase requests with receipts and inspection,
transfers, count sessions, serialised items and their history; in-transit
and defective figures on stock levels; movement condition, reason and
counterpart; warranty preemption on reservations.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 23:01:48.212414

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('count_sessions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', 'cancelled', name='countstatus', native_enum=False, length=16), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_user_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_user_id'], ['users.id'], name=op.f('fk_count_sessions_closed_by_user_id_users')),
    sa.ForeignKeyConstraint(['location_id'], ['stock_locations.id'], name=op.f('fk_count_sessions_location_id_stock_locations')),
    sa.ForeignKeyConstraint(['opened_by_user_id'], ['users.id'], name=op.f('fk_count_sessions_opened_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_count_sessions'))
    )
    with op.batch_alter_table('count_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_count_sessions_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_count_sessions_status'), ['status'], unique=False)

    op.create_table('purchase_requests',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sa.String(length=32), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=False),
    sa.Column('requested_by_name', sa.String(length=200), nullable=False),
    sa.Column('requested_by_user_id', sa.Uuid(), nullable=False),
    sa.Column('request_date', sa.Date(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('destination_location_id', sa.Uuid(), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('pending_approval', 'approved', 'rejected', 'received', 'cancelled', name='purchaserequeststatus', native_enum=False, length=32), nullable=False),
    sa.Column('decided_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_purchase_requests_customer_id_customers')),
    sa.ForeignKeyConstraint(['decided_by_user_id'], ['users.id'], name=op.f('fk_purchase_requests_decided_by_user_id_users')),
    sa.ForeignKeyConstraint(['destination_location_id'], ['stock_locations.id'], name=op.f('fk_purchase_requests_destination_location_id_stock_locations')),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['users.id'], name=op.f('fk_purchase_requests_requested_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_requests')),
    sa.UniqueConstraint('number', name=op.f('uq_purchase_requests_number'))
    )
    with op.batch_alter_table('purchase_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_requests_status'), ['status'], unique=False)

    op.create_table('purchase_request_lines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('request_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('accepted_quantity', sa.Integer(), nullable=False),
    sa.Column('rejected_quantity', sa.Integer(), nullable=False),
    sa.Column('remarks', sa.Text(), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_purchase_request_lines_positive_quantity')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_purchase_request_lines_part_id_parts')),
    sa.ForeignKeyConstraint(['request_id'], ['purchase_requests.id'], name=op.f('fk_purchase_request_lines_request_id_purchase_requests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_purchase_request_lines'))
    )
    with op.batch_alter_table('purchase_request_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_purchase_request_lines_request_id'), ['request_id'], unique=False)

    op.create_table('receipts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('purchase_request_id', sa.Uuid(), nullable=True),
    sa.Column('supplier', sa.String(length=200), nullable=True),
    sa.Column('delivery_note', sa.String(length=100), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by_user_id', sa.Uuid(), nullable=True),
    sa.ForeignKeyConstraint(['location_id'], ['stock_locations.id'], name=op.f('fk_receipts_location_id_stock_locations')),
    sa.ForeignKeyConstraint(['purchase_request_id'], ['purchase_requests.id'], name=op.f('fk_receipts_purchase_request_id_purchase_requests')),
    sa.ForeignKeyConstraint(['received_by_user_id'], ['users.id'], name=op.f('fk_receipts_received_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipts'))
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipts_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipts_purchase_request_id'), ['purchase_request_id'], unique=False)

    op.create_table('receipt_lines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('receipt_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Uuid(), nullable=False),
    sa.Column('purchase_request_line_id', sa.Uuid(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('serial_numbers', sa.JSON(), nullable=False),
    sa.Column('inspection', sa.Enum('pending', 'passed', 'failed', 'partial', name='inspectionresult', native_enum=False, length=16), nullable=False),
    sa.Column('passed_quantity', sa.Integer(), nullable=True),
    sa.Column('failed_quantity', sa.Integer(), nullable=True),
    sa.Column('inspected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('inspected_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('inspection_note', sa.Text(), nullable=True),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_receipt_lines_positive_quantity')),
    sa.ForeignKeyConstraint(['inspected_by_user_id'], ['users.id'], name=op.f('fk_receipt_lines_inspected_by_user_id_users')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_receipt_lines_part_id_parts')),
    sa.ForeignKeyConstraint(['purchase_request_line_id'], ['purchase_request_lines.id'], name=op.f('fk_receipt_lines_purchase_request_line_id_purchase_request_lines')),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipts.id'], name=op.f('fk_receipt_lines_receipt_id_receipts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_receipt_lines'))
    )
    with op.batch_alter_table('receipt_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipt_lines_inspection'), ['inspection'], unique=False)
        batch_op.create_index(batch_op.f('ix_receipt_lines_receipt_id'), ['receipt_id'], unique=False)

    op.create_table('serial_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('part_id', sa.Uuid(), nullable=False),
    sa.Column('serial_number', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('in_stock', 'in_transit', 'installed', 'defective', 'in_repair', name='serialstatus', native_enum=False, length=32), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=True),
    sa.Column('site_id', sa.Uuid(), nullable=True),
    sa.Column('job_id', sa.Uuid(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_serial_items_job_id_jobs')),
    sa.ForeignKeyConstraint(['location_id'], ['stock_locations.id'], name=op.f('fk_serial_items_location_id_stock_locations')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_serial_items_part_id_parts')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_serial_items_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_serial_items')),
    sa.UniqueConstraint('serial_number', name=op.f('uq_serial_items_serial_number'))
    )
    with op.batch_alter_table('serial_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_serial_items_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_serial_items_part_id'), ['part_id'], unique=False)

    op.create_table('transfers',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('from_location_id', sa.Uuid(), nullable=False),
    sa.Column('to_location_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('planned', 'shipped', 'received', 'cancelled', name='transferstatus', native_enum=False, length=16), nullable=False),
    sa.Column('is_issue', sa.Boolean(), nullable=False),
    sa.Column('job_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('explanation', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shipped_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_by_user_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint('from_location_id <> to_location_id', name=op.f('ck_transfers_distinct_locations')),
    sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'], name=op.f('fk_transfers_created_by_user_id_users')),
    sa.ForeignKeyConstraint(['from_location_id'], ['stock_locations.id'], name=op.f('fk_transfers_from_location_id_stock_locations')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_transfers_job_id_jobs')),
    sa.ForeignKeyConstraint(['received_by_user_id'], ['users.id'], name=op.f('fk_transfers_received_by_user_id_users')),
    sa.ForeignKeyConstraint(['shipped_by_user_id'], ['users.id'], name=op.f('fk_transfers_shipped_by_user_id_users')),
    sa.ForeignKeyConstraint(['to_location_id'], ['stock_locations.id'], name=op.f('fk_transfers_to_location_id_stock_locations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfers'))
    )
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfers_from_location_id'), ['from_location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_transfers_to_location_id'), ['to_location_id'], unique=False)

    op.create_table('count_lines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('session_id', sa.Uuid(), nullable=False),
    sa.Column('part_id', sa.Uuid(), nullable=False),
    sa.Column('counted_quantity', sa.Integer(), nullable=False),
    sa.Column('expected_quantity', sa.Integer(), nullable=True),
    sa.Column('difference', sa.Integer(), nullable=True),
    sa.Column('movement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('counted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('counted_by_user_id', sa.Uuid(), nullable=True),
    sa.CheckConstraint('counted_quantity >= 0', name=op.f('ck_count_lines_counted_not_negative')),
    sa.ForeignKeyConstraint(['counted_by_user_id'], ['users.id'], name=op.f('fk_count_lines_counted_by_user_id_users')),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], name=op.f('fk_count_lines_movement_id_stock_movements')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_count_lines_part_id_parts')),
    sa.ForeignKeyConstraint(['session_id'], ['count_sessions.id'], name=op.f('fk_count_lines_session_id_count_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_count_lines')),
    sa.UniqueConstraint('session_id', 'part_id', name=op.f('uq_count_lines_session_id_part_id'))
    )
    op.create_table('serial_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('serial_number', sa.String(length=64), nullable=False),
    sa.Column('part_id', sa.Uuid(), nullable=True),
    sa.Column('spare_unit_id', sa.Uuid(), nullable=True),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=True),
    sa.Column('site_id', sa.Uuid(), nullable=True),
    sa.Column('job_id', sa.Uuid(), nullable=True),
    sa.Column('movement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('by_user_id', sa.Uuid(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['by_user_id'], ['users.id'], name=op.f('fk_serial_events_by_user_id_users')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_serial_events_job_id_jobs')),
    sa.ForeignKeyConstraint(['location_id'], ['stock_locations.id'], name=op.f('fk_serial_events_location_id_stock_locations')),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], name=op.f('fk_serial_events_movement_id_stock_movements')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_serial_events_part_id_parts')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_serial_events_site_id_sites')),
    sa.ForeignKeyConstraint(['spare_unit_id'], ['spare_units.id'], name=op.f('fk_serial_events_spare_unit_id_spare_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_serial_events'))
    )
    with op.batch_alter_table('serial_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_serial_events_serial_number'), ['serial_number'], unique=False)
        batch_op.create_index(batch_op.f('ix_serial_events_spare_unit_id'), ['spare_unit_id'], unique=False)

    op.create_table('stock_discrepancies',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.Enum('negative_balance', 'count_difference', 'transit_shortfall', 'unknown_serial', name='discrepancykind', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('open', 'resolved', name='discrepancystatus', native_enum=False, length=16), nullable=False),
    sa.Column('location_id', sa.Uuid(), nullable=False),
    sa.Column('part_id', sa.Uuid(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('balance_after', sa.Integer(), nullable=True),
    sa.Column('movement_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('job_id', sa.Uuid(), nullable=True),
    sa.Column('count_session_id', sa.Uuid(), nullable=True),
    sa.Column('transfer_id', sa.Uuid(), nullable=True),
    sa.Column('serial_number', sa.String(length=64), nullable=True),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_user_id', sa.Uuid(), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['count_session_id'], ['count_sessions.id'], name=op.f('fk_stock_discrepancies_count_session_id_count_sessions')),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_stock_discrepancies_job_id_jobs')),
    sa.ForeignKeyConstraint(['location_id'], ['stock_locations.id'], name=op.f('fk_stock_discrepancies_location_id_stock_locations')),
    sa.ForeignKeyConstraint(['movement_id'], ['stock_movements.id'], name=op.f('fk_stock_discrepancies_movement_id_stock_movements')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_stock_discrepancies_part_id_parts')),
    sa.ForeignKeyConstraint(['resolved_by_user_id'], ['users.id'], name=op.f('fk_stock_discrepancies_resolved_by_user_id_users')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_stock_discrepancies_transfer_id_transfers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_discrepancies'))
    )
    with op.batch_alter_table('stock_discrepancies', schema=None) as batch_op:
        batch_op.create_index('ix_stock_discrepancies_location_detected', ['location_id', 'detected_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_discrepancies_status'), ['status'], unique=False)

    op.create_table('transfer_lines',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('transfer_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Uuid(), nullable=True),
    sa.Column('spare_unit_id', sa.Uuid(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('serial_numbers', sa.JSON(), nullable=False),
    sa.Column('received_quantity', sa.Integer(), nullable=True),
    sa.CheckConstraint('(part_id IS NULL) <> (spare_unit_id IS NULL)', name=op.f('ck_transfer_lines_part_xor_spare_unit')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_transfer_lines_positive_quantity')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_transfer_lines_part_id_parts')),
    sa.ForeignKeyConstraint(['spare_unit_id'], ['spare_units.id'], name=op.f('fk_transfer_lines_spare_unit_id_spare_units')),
    sa.ForeignKeyConstraint(['transfer_id'], ['transfers.id'], name=op.f('fk_transfer_lines_transfer_id_transfers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_transfer_lines'))
    )
    with op.batch_alter_table('transfer_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_transfer_lines_transfer_id'), ['transfer_id'], unique=False)

    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('preempted_by_id', sa.Uuid(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_reservations_preempted_by_id_reservations'), 'reservations', ['preempted_by_id'], ['id'])

    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_transit', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('defective', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.add_column(sa.Column('condition', sa.Enum('good', 'defective', name='stockcondition', native_enum=False, length=16), server_default='good', nullable=False))
        batch_op.add_column(sa.Column('reason', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('counterpart_location_id', sa.Uuid(), nullable=True))
        batch_op.create_index('ix_stock_movements_at', ['at'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_stock_movements_counterpart_location_id_stock_locations'), 'stock_locations', ['counterpart_location_id'], ['id'])



def downgrade():
    with op.batch_alter_table('stock_movements', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_stock_movements_counterpart_location_id_stock_locations'), type_='foreignkey')
        batch_op.drop_index('ix_stock_movements_at')
        batch_op.drop_column('counterpart_location_id')
        batch_op.drop_column('reason')
        batch_op.drop_column('condition')

    with op.batch_alter_table('stock_levels', schema=None) as batch_op:
        batch_op.drop_column('defective')
        batch_op.drop_column('in_transit')

    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_reservations_preempted_by_id_reservations'), type_='foreignkey')
        batch_op.drop_column('preempted_by_id')

    with op.batch_alter_table('transfer_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfer_lines_transfer_id'))

    op.drop_table('transfer_lines')
    with op.batch_alter_table('stock_discrepancies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_discrepancies_status'))
        batch_op.drop_index('ix_stock_discrepancies_location_detected')

    op.drop_table('stock_discrepancies')
    with op.batch_alter_table('serial_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_serial_events_spare_unit_id'))
        batch_op.drop_index(batch_op.f('ix_serial_events_serial_number'))

    op.drop_table('serial_events')
    op.drop_table('count_lines')
    with op.batch_alter_table('transfers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_transfers_to_location_id'))
        batch_op.drop_index(batch_op.f('ix_transfers_status'))
        batch_op.drop_index(batch_op.f('ix_transfers_from_location_id'))

    op.drop_table('transfers')
    with op.batch_alter_table('serial_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_serial_items_part_id'))
        batch_op.drop_index(batch_op.f('ix_serial_items_location_id'))

    op.drop_table('serial_items')
    with op.batch_alter_table('receipt_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipt_lines_receipt_id'))
        batch_op.drop_index(batch_op.f('ix_receipt_lines_inspection'))

    op.drop_table('receipt_lines')
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipts_purchase_request_id'))
        batch_op.drop_index(batch_op.f('ix_receipts_location_id'))

    op.drop_table('receipts')
    with op.batch_alter_table('purchase_request_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_request_lines_request_id'))

    op.drop_table('purchase_request_lines')
    with op.batch_alter_table('purchase_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_purchase_requests_status'))

    op.drop_table('purchase_requests')
    with op.batch_alter_table('count_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_count_sessions_status'))
        batch_op.drop_index(batch_op.f('ix_count_sessions_location_id'))

    op.drop_table('count_sessions')
