// The local copy of what FieldSync's WatermelonDB pull sends (sync/registry.py
// names the columns; date-times arrive as milliseconds since the epoch, JSON
// lists as JSON text). `version` is the update's base version for the server.
import { appSchema, tableSchema } from '@nozbe/watermelondb'

const s = (name, isIndexed = false) => ({ name, type: 'string', isOptional: true, isIndexed })
const n = (name) => ({ name, type: 'number', isOptional: true })
const b = (name) => ({ name, type: 'boolean', isOptional: true })
const version = n('version')

export const EXPENSE_COLUMNS = [s('job_id', true), s('kind'), n('amount'), n('travel_minutes'), n('distance_km'),
  s('note'), n('incurred_at'), s('recorded_by_user_id'), n('recorded_at'), s('receipt_ref')]

export const SCHEMA_VERSION = 3

export const schema = appSchema({
  version: SCHEMA_VERSION,
  tables: [
    tableSchema({
      name: 'jobs',
      columns: [s('ticket_id', true), s('technician_id', true), s('status'), s('priority'), n('planned_start'),
        n('planned_end'), s('instructions'), n('arrived_at'), n('departed_at'), n('completed_at'), s('work_done'),
        s('fault_cause'), s('solution'), s('customer_opinion'), s('customer_rating'),
        // Why the customer did not sign: customer_absent, refused, unable or other, and the technician's note.
        s('no_signature_reason'), s('no_signature_note'), version],
    }),
    tableSchema({
      name: 'tickets',
      columns: [s('reference'), s('customer_id'), s('site_id'), s('asset_id'), s('contract_id'), s('channel'),
        s('category'), s('complaint_class'), s('priority'), s('summary'), s('description'), s('status'),
        n('received_at'), n('response_due_at'), n('on_site_due_at'), n('resolve_due_at'), n('responded_at'),
        n('on_site_at'), n('resolved_at'), n('closed_at'), n('escalation_level'), version],
    }),
    tableSchema({
      name: 'customers',
      columns: [s('name'), s('contact_name'), s('phone'), s('email'), s('address'), version],
    }),
    tableSchema({
      name: 'sites',
      columns: [s('customer_id'), s('name'), s('address'), s('city'), n('latitude'), n('longitude'), version],
    }),
    tableSchema({
      name: 'assets',
      columns: [s('site_id', true), s('product_line'), s('model'), s('serial_number'), s('install_date'),
        s('warranty_end'), version],
    }),
    tableSchema({
      name: 'parts',
      columns: [s('part_number'), s('name'), s('unit'), b('serialised'), n('unit_cost'), version],
    }),
    tableSchema({
      name: 'stock_levels', // id: "<location id>:<part id>"
      columns: [s('location_id', true), s('part_id', true), n('on_hand'), n('reserved'), n('in_transit'),
        n('defective')],
    }),
    tableSchema({
      name: 'spare_units',
      columns: [s('model'), s('product_line'), s('serial_number'), s('status'), s('location_id'), s('site_id'),
        version],
    }),
    tableSchema({
      name: 'adjustments',
      columns: [s('job_id', true), s('parameter'), s('value_before'), s('value_after'), s('unit'), version],
    }),
    tableSchema({
      name: 'part_usages',
      columns: [s('job_id', true), s('part_id'), n('quantity'), s('serial_numbers'), s('location_id'),
        b('under_warranty'), n('recorded_at')],
    }),
    tableSchema({
      name: 'check_ins',
      columns: [s('technician_id'), s('job_id', true), s('kind'), n('latitude'), n('longitude'), n('accuracy_m'),
        n('recorded_at'), n('received_at')],
    }),
    tableSchema({
      name: 'photos',
      columns: [s('job_id', true), s('blob_sha256'), s('kind'), s('caption'), n('taken_at'), n('latitude'),
        n('longitude'), n('width'), n('height'), n('recorded_at')],
    }),
    tableSchema({
      name: 'signatures',
      columns: [s('job_id', true), s('signer_name'), s('signer_role'), s('strokes'), n('signed_at_device'),
        n('latitude'), n('longitude'), s('report_sha256'), n('received_at'), s('report_snapshot'),
        s('signed_via')],
    }),
    // Version 3: cost inputs (the monthly report's travel, transport, lodging, meals, other), in yuan.
    tableSchema({ name: 'job_expenses', columns: EXPENSE_COLUMNS }),
  ],
})
