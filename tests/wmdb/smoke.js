const { Database, Model, appSchema, tableSchema } = require('@nozbe/watermelondb')
const LokiJSAdapter = require('@nozbe/watermelondb/adapters/lokijs').default
const { synchronize } = require('@nozbe/watermelondb/sync')
class Job extends Model { static table = 'jobs' }
const schema = appSchema({ version: 1, tables: [tableSchema({ name: 'jobs', columns: [{ name: 'work_done', type: 'string', isOptional: true }] })] })
;(async () => {
const adapter = new LokiJSAdapter({ schema, useWebWorker: false, useIncrementalIndexedDB: false, dbName: 'x' + Math.random() })
const database = new Database({ adapter, modelClasses: [Job] })
await synchronize({ database, pullChanges: async () => ({ changes: { jobs: { created: [{ id: 'a', work_done: 'x' }], updated: [], deleted: [] } }, timestamp: 5 }),
  pushChanges: async ({ changes }) => { console.log('push', JSON.stringify(changes)) } })
const jobs = await database.get('jobs').query().fetch()
console.log(jobs.map(j => j._raw))
await database.write(async () => { await jobs[0].update(r => { r._setRaw('work_done', 'y') }) })
await synchronize({ database, pullChanges: async ({lastPulledAt, schemaVersion, migration}) => { console.log(lastPulledAt, schemaVersion, migration); return { changes: {}, timestamp: 6 } },
  pushChanges: async ({ changes, lastPulledAt }) => { console.log('push', lastPulledAt, JSON.stringify(changes)) } })
})()
