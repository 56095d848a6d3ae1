// Photos' bytes, kept on the device until uploaded: IndexedDB, keyed by their
// SHA-256 (the name the photo record carries), apart from WatermelonDB, which
// holds only the records.
const DB = 'fieldsync-blobs'
const STORE = 'blobs'

let opening = null
function open() {
  opening = opening || new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1)
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: 'sha256' })
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error)
  })
  return opening
}

async function run(mode, fn) {
  const db = await open()
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode)
    const result = fn(tx.objectStore(STORE))
    tx.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined)
    tx.onerror = () => reject(tx.error)
    tx.onabort = () => reject(tx.error)
  })
}

/** Keep a blob once (a photo taken twice is one blob). */
export async function putBlob(entry) {
  const existing = await getBlob(entry.sha256)
  if (existing) return existing
  const stored = { state: 'pending', upload_url: null, ...entry }
  await run('readwrite', (store) => store.put(stored))
  return stored
}

export const getBlob = (sha256) => run('readonly', (store) => store.get(sha256))
export const allBlobs = () => run('readonly', (store) => store.getAll())
export async function updateBlob(sha256, changes) {
  const entry = await getBlob(sha256)
  if (entry) await run('readwrite', (store) => store.put({ ...entry, ...changes }))
}
export async function pendingBlobs() {
  return (await allBlobs()).filter((b) => b.state !== 'done')
}
