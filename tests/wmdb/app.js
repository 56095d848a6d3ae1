// A handheld app's database, as an app built on WatermelonDB writes it: its
// schema (the columns it uses of what FieldSync syncs), its models, and the
// sync glue of sync/README.md — the auth header is the only FieldSync-specific
// line in it.
'use strict'

const { Database, Model, appSchema, tableSchema } = require('@nozbe/watermelondb')
const { schemaMigrations, addColumns, createTable } = require('@nozbe/watermelondb/Schema/migrations')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { LokiMemoryAdapter } = require('lokijs')
const { synchronize } = require('@nozbe/watermelondb/sync')

const optional = (name, type = 'string') => ({ name, type, isOptional: true })
const text = (...names) => names.map((name) => optional(name))
const numbers = (...names) => names.map((name) => optional(name, 'number'))

// Version 2 is the app's current schema; version 1 (one release behind) had no
// signatures and no customer rating (see `migrations` below).
const TABLES = {
  jobs: [...text('ticket_id', 'technician_id', 'status', 'priority', 'instructions', 'work_done', 'fault_cause',
    'solution', 'customer_opinion', 'customer_rating'),
  ...numbers('planned_start', 'planned_end', 'arrived_at', 'departed_at', 'completed_at', 'version')],
  tickets: [...text('reference', 'customer_id', 'site_id', 'asset_id', 'channel', 'category', 'priority', 'summary',
    'description', 'status'), ...numbers('received_at', 'response_due_at', 'on_site_due_at', 'resolve_due_at',
    'version')],
  customers: [...text('name', 'contact_name', 'phone', 'email', 'address'), ...numbers('version')],
  sites: [...text('customer_id', 'name', 'address', 'city'), ...numbers('latitude', 'longitude', 'version')],
  assets: [...text('site_id', 'product_line', 'model', 'serial_number', 'install_date', 'warranty_end'),
    ...numbers('version')],
  parts: [...text('part_number', 'name', 'unit'), optional('serialised', 'boolean'), ...numbers('unit_cost', 'version')],
  stock_levels: [...text('location_id', 'part_id'), ...numbers('on_hand', 'reserved', 'in_transit', 'defective')],
  spare_units: [...text('model', 'product_line', 'serial_number', 'status', 'location_id', 'site_id'),
    ...numbers('version')],
  adjustments: [...text('job_id', 'parameter', 'value_before', 'value_after', 'unit'), ...numbers('version')],
  part_usages: [...text('job_id', 'part_id', 'serial_numbers', 'location_id'), optional('under_warranty', 'boolean'),
    ...numbers('quantity', 'recorded_at')],
  check_ins: [...text('job_id', 'kind'), ...numbers('latitude', 'longitude', 'accuracy_m', 'recorded_at')],
  photos: [...text('job_id', 'blob_sha256', 'kind', 'caption'), ...numbers('latitude', 'longitude', 'recorded_at')],
  signatures: [...text('job_id', 'signer_name', 'signer_role', 'strokes', 'report_sha256'),
    ...numbers('signed_at_device', 'latitude', 'longitude')],
}
const NEW_IN_2 = { tables: ['signatures'], columns: { jobs: ['customer_rating'] } }

function schemaAt(version) {
  const tables = Object.entries(TABLES)
    .filter(([name]) => version >= 2 || !NEW_IN_2.tables.includes(name))
    .map(([name, columns]) => tableSchema({
      name,
      columns: columns.filter((c) => version >= 2 || !(NEW_IN_2.columns[name] || []).includes(c.name)),
    }))
  return appSchema({ version, tables })
}

const migrations = schemaMigrations({
  migrations: [{
    toVersion: 2,
    steps: [
      createTable({ name: 'signatures', columns: TABLES.signatures }),
      addColumns({ table: 'jobs', columns: TABLES.jobs.filter((c) => c.name === 'customer_rating') }),
    ],
  }],
})

const modelClasses = Object.keys(TABLES).map((table) => class extends Model {
  static table = table
})

// One in-memory LokiJS database. `storage` (a LokiJS memory adapter) is kept by
// the caller to reopen the same data under a newer schema (an app update).
function openDatabase({ version = 2, storage = new LokiMemoryAdapter(), name = `fieldsync-${Math.random()}` } = {}) {
  const adapter = new LokiJSAdapter({
    schema: schemaAt(version),
    migrations: version >= 2 ? migrations : schemaMigrations({ migrations: [] }),
    useWebWorker: false,
    useIncrementalIndexedDB: true,
    dbName: name,
    extraLokiOptions: { autosave: false },
    _testLokiAdapter: storage,
  })
  return new Database({ adapter, modelClasses: version >= 2 ? modelClasses
    : modelClasses.filter((m) => !NEW_IN_2.tables.includes(m.table)) })
}

// ---- the glue an app writes (sync/README.md shows exactly this) ----------------
// `server` is FieldSync's address, `token` the bearer token from POST /api/v1/auth/token.
function sync({ database, server, token, log }) {
  const headers = { Authorization: `Bearer ${token}` }
  return synchronize({
    database,
    pullChanges: async ({ lastPulledAt, schemaVersion, migration }) => {
      const urlParams = `last_pulled_at=${lastPulledAt}&schema_version=${schemaVersion}&migration=${encodeURIComponent(
        JSON.stringify(migration),
      )}`
      const response = await fetch(`${server}/api/v1/sync/watermelon/pull?${urlParams}`, { headers })
      if (!response.ok) {
        throw new Error(await response.text())
      }
      const { changes, timestamp } = await response.json()
      return { changes, timestamp }
    },
    pushChanges: async ({ changes, lastPulledAt }) => {
      const response = await fetch(`${server}/api/v1/sync/watermelon/push?last_pulled_at=${lastPulledAt}`, {
        method: 'POST',
        body: JSON.stringify(changes),
        headers,
      })
      if (!response.ok) {
        throw new Error(await response.text())
      }
      // experimentalRejectedIds: records refused (the reasons in `rejected`) stay unsynced.
      return await response.json()
    },
    migrationsEnabledAtVersion: 1,
    log,
  })
}

// Its LokiJS data written to its storage adapter (reopened later by an app update).
function save(database) {
  const { loki } = database.adapter.underlyingAdapter._dispatcher._worker._bridge.driver
  return new Promise((resolve, reject) => loki.saveDatabase((error) => (error ? reject(error) : resolve())))
}

module.exports = { TABLES, NEW_IN_2, schemaAt, migrations, openDatabase, save, sync }
