// An installed handheld updated from schema version 2 to 3 (job expenses) keeps
// what it holds, unsynced work included, and its first sync after the update (a
// WatermelonDB migration sync) brings the expenses already recorded on its jobs.
// The handheld's own schema, migrations and models (src/data), bundled for Node by
// esbuild, on LokiJS in memory; the sync glue as the app's (src/sync.js) without
// the browser's parts. Driven by tests/test_handheld_upgrade.py:
//   node test/upgrade.mjs '{"server": "http://127.0.0.1:…", "token": "…", "job": "<job id>"}'
import { build } from 'esbuild'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const bundled = await build({
  stdin: {
    contents: `
      export { schema, SCHEMA_VERSION } from './src/data/schema.js'
      export { migrations } from './src/data/migrations.js'
      export { modelClasses } from './src/data/models.js'
      export { Database, appSchema } from '@nozbe/watermelondb'
      export { schemaMigrations } from '@nozbe/watermelondb/Schema/migrations'
      export { default as LokiJSAdapter } from '@nozbe/watermelondb/adapters/lokijs'
      export { synchronize } from '@nozbe/watermelondb/sync'
      export { setGenerator } from '@nozbe/watermelondb/utils/common/randomId'
      export { LokiMemoryAdapter } from 'lokijs'
    `,
    resolveDir: join(here, '..'),
    loader: 'js',
  },
  bundle: true, platform: 'node', format: 'cjs', write: false, logLevel: 'error',
  define: { 'process.env.NODE_ENV': '"production"' },
})
const file = join(mkdtempSync(join(tmpdir(), 'fieldsync-upgrade-')), 'data.cjs')
writeFileSync(file, bundled.outputFiles[0].text)
const W = createRequire(import.meta.url)(file)
W.setGenerator(() => crypto.randomUUID())

const args = JSON.parse(process.argv[2])
const headers = { Authorization: `Bearer ${args.token}` }

function open(version, storage) {
  const schema = version === W.SCHEMA_VERSION ? W.schema
    : W.appSchema({ version, tables: Object.values(W.schema.tables).filter((t) => t.name !== 'job_expenses') })
  const migrations = version === W.SCHEMA_VERSION ? W.migrations
    : W.schemaMigrations({ migrations: W.migrations.sortedMigrations.filter((m) => m.toVersion <= version) })
  const adapter = new W.LokiJSAdapter({
    schema, migrations, useWebWorker: false, useIncrementalIndexedDB: true, dbName: 'fieldsync',
    extraLokiOptions: { autosave: false }, _testLokiAdapter: storage,
  })
  const modelClasses = W.modelClasses.filter((m) => schema.tables[m.table])
  return new W.Database({ adapter, modelClasses })
}

async function sync(database) {
  const log = {}
  await W.synchronize({
    database,
    log,
    migrationsEnabledAtVersion: 1,
    pullChanges: async ({ lastPulledAt, schemaVersion, migration }) => {
      const query = new URLSearchParams({ schema_version: String(schemaVersion) })
      if (lastPulledAt) query.set('last_pulled_at', String(lastPulledAt))
      if (migration) query.set('migration', JSON.stringify(migration))
      const response = await fetch(`${args.server}/api/v1/sync/watermelon/pull?${query}`, { headers })
      if (!response.ok) throw new Error(await response.text())
      const { changes, timestamp } = await response.json()
      log.pulledTables = Object.keys(changes).sort()
      return { changes, timestamp }
    },
    pushChanges: async ({ changes, lastPulledAt }) => {
      const response = await fetch(`${args.server}/api/v1/sync/watermelon/push?last_pulled_at=${lastPulledAt}`,
        { method: 'POST', body: JSON.stringify(changes), headers })
      if (!response.ok) throw new Error(await response.text())
      const answer = await response.json()
      log.rejected = answer.rejected
      return { experimentalRejectedIds: answer.experimentalRejectedIds }
    },
  })
  return log
}

function save(database) {
  const { loki } = database.adapter.underlyingAdapter._dispatcher._worker._bridge.driver
  return new Promise((resolve, reject) => loki.saveDatabase((error) => (error ? reject(error) : resolve())))
}

const out = {}
const storage = new W.LokiMemoryAdapter()
// The app as installed: schema version 2, synced, then work done offline and not yet synced.
const old = open(2, storage)
out.oldPulledTables = (await sync(old)).pulledTables
const job = await old.get('jobs').find(args.job)
await old.write(() => job.update((j) => j.set({ work_done: 'Done before the update' })))
out.oldStatus = job._raw._status
await save(old)

// The update: the same storage under the app's schema (version 3), through its migrations.
const updated = open(W.SCHEMA_VERSION, storage)
const kept = await updated.get('jobs').find(args.job)
out.keptWorkDone = kept.get('work_done')
out.keptStatus = kept._raw._status
out.jobs = await updated.get('jobs').query().fetchCount()
out.expensesBefore = await updated.get('job_expenses').query().fetchCount()
const first = await sync(updated)
out.migration = first.migration
out.pulledExpenses = (await updated.get('job_expenses').query().fetch()).map((e) => ({
  id: e.id, kind: e.get('kind'), amount: e.get('amount'), status: e._raw._status }))
out.workDoneSynced = (await updated.get('jobs').find(args.job))._raw._status
// A new expense on the updated app: pushed once.
const created = await updated.write(() => updated.get('job_expenses').create((e) => e.set({
  job_id: args.job, kind: 'travel', amount: 12.3, distance_km: 8, note: 'after the update', incurred_at: Date.now() })))
out.createdExpense = created.id
const second = await sync(updated)
out.secondRejected = second.rejected
out.unsynced = await updated.get('job_expenses').query().fetch().then((rows) => rows.filter((r) => r._raw._status !== 'synced').length)
out.version = W.SCHEMA_VERSION
console.log(JSON.stringify(out))
