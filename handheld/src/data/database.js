// The device's database: WatermelonDB on LokiJS, kept in IndexedDB.
import { Database } from '@nozbe/watermelondb'
import LokiJSAdapter from '@nozbe/watermelondb/adapters/lokijs'
import { setGenerator } from '@nozbe/watermelondb/utils/common/randomId'
import { migrations } from './migrations.js'
import { modelClasses } from './models.js'
import { schema } from './schema.js'

// FieldSync takes only UUIDs as record ids.
setGenerator(() => crypto.randomUUID())

export function openDatabase(name = 'fieldsync') {
  const adapter = new LokiJSAdapter({
    schema,
    migrations,
    dbName: name,
    useWebWorker: false,
    useIncrementalIndexedDB: true,
    onSetUpError: (error) => { console.warn('database set-up failed', error) },
  })
  return new Database({ adapter, modelClasses })
}

export const byId = async (db, table, id) => {
  if (!id) return null
  try {
    return await db.get(table).find(id)
  } catch {
    return null
  }
}

/** Write what LokiJS holds in memory to IndexedDB now (it also does so by
 * itself every half second): after a sync, after a local change, and when
 * the app is hidden, so a closed browser loses nothing. */
export function persist(db) {
  const driver = db.adapter.underlyingAdapter._driver
  if (!driver || !driver.loki) return Promise.resolve()
  return new Promise((resolve) => driver.loki.saveDatabase(() => resolve()))
}
