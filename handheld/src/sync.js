// The one owner of synchronize() and of the photo upload queue.
//
// synchronize() pulls then pushes. A pull may take a job away (reassigned or
// cancelled by the office: an out-of-scope tombstone) while the device holds
// unsynced work on it; WatermelonDB would drop the record before pushing, so
// such deletions are held back until the push has carried the work, and the
// technician is told what happened.
import { Q } from '@nozbe/watermelondb'
import { synchronize } from '@nozbe/watermelondb/sync'
import * as tus from 'tus-js-client'
import { ApiError, SignInNeeded, api, currentAuth, signedIn } from './auth.js'
import { getBlob, pendingBlobs, updateBlob } from './blobs.js'
import { persist } from './data/database.js'

export const WRITABLE = ['jobs', 'adjustments', 'part_usages', 'check_ins', 'photos', 'signatures', 'job_expenses']
const STATE_KEY = 'fieldsync.sync'
const CHUNK = 256 * 1024

const saved = (() => {
  try {
    return JSON.parse(localStorage.getItem(STATE_KEY) || '{}')
  } catch {
    return {}
  }
})()

export const state = {
  running: false,
  uploading: false,
  lastSyncAt: saved.lastSyncAt || null,
  error: null, // {code, message}: what the person can do about it is in the locale files
  notices: saved.notices || [], // [{job, reference, kind, at}]
  pending: 0,
  pendingPhotos: 0,
  upload: null, // {sha256, sent, total}
  rejected: [], // the last push's refused records: [{table, id, error: {code, message}}]
}

const listeners = new Set()
export const onChange = (fn) => { listeners.add(fn); return () => listeners.delete(fn) }
function changed() {
  localStorage.setItem(STATE_KEY, JSON.stringify({ lastSyncAt: state.lastSyncAt, notices: state.notices.slice(-20) }))
  for (const fn of listeners) fn(state)
}

export async function countPending(db) {
  let count = 0
  for (const table of WRITABLE) {
    count += await db.get(table).query(Q.where('_status', Q.notEq('synced'))).fetchCount()
  }
  state.pending = count
  state.pendingPhotos = (await pendingBlobs()).length
  changed()
  return count
}

function errorOf(error) {
  if (error instanceof SignInNeeded) return { code: error.code || 'sign_in', message: error.message }
  if (error instanceof ApiError) return { code: error.code || `http_${error.status}`, message: error.message }
  if (error instanceof TypeError) return { code: 'offline', message: error.message } // fetch's network failure
  return { code: 'unexpected', message: String(error && error.message ? error.message : error) }
}

/** Jobs that hold local work: unsynced themselves or named by unsynced records. */
async function jobsWithLocalWork(db) {
  const ids = new Set()
  for (const table of WRITABLE) {
    const records = await db.get(table).query(Q.where('_status', Q.notEq('synced'))).fetch()
    for (const r of records) ids.add(table === 'jobs' ? r.id : r._raw.job_id)
  }
  return ids
}

const held = new Set() // jobs the server took away, kept until their work is pushed

async function pullChanges(db, { lastPulledAt, schemaVersion, migration }) {
  const query = new URLSearchParams({ schema_version: String(schemaVersion) })
  if (lastPulledAt) query.set('last_pulled_at', String(lastPulledAt))
  if (migration) query.set('migration', JSON.stringify(migration))
  let answer
  try {
    answer = await api(`/api/v1/sync/watermelon/pull?${query}`)
  } catch (error) {
    if (error instanceof ApiError && error.status === 410) { // older than the server's tombstones: start over
      answer = await api(`/api/v1/sync/watermelon/pull?schema_version=${schemaVersion}`)
    } else {
      throw error
    }
  }
  const { changes } = answer
  const me = (currentAuth() || {}).technician_id
  const working = await jobsWithLocalWork(db)
  const jobs = changes.jobs || { created: [], updated: [], deleted: [] }
  const notices = []
  const tell = async (local, kind) => {
    // Once per job and kind of news, whichever pull brings it first.
    if (state.notices.some((n) => n.job === local.id && n.kind.startsWith('taken')) && kind.startsWith('taken')) return
    notices.push({ job: local.id, reference: await referenceOf(db, local), kind, at: Date.now() })
  }
  for (const id of jobs.deleted || []) {
    const local = await db.get('jobs').find(id).catch(() => null)
    if (!local) continue
    await tell(local, working.has(id) ? 'taken_with_work' : 'taken')
    if (working.has(id)) held.add(id)
  }
  jobs.deleted = (jobs.deleted || []).filter((id) => !held.has(id))
  for (const raw of [...(jobs.updated || []), ...(jobs.created || [])]) {
    const local = await db.get('jobs').find(raw.id).catch(() => null)
    if (!local) continue
    const office = ['planned_start', 'planned_end', 'instructions', 'priority']
      .some((name) => (raw[name] ?? null) !== (local._raw[name] ?? null))
    if (me && raw.technician_id && raw.technician_id !== me) {
      await tell(local, working.has(raw.id) ? 'taken_with_work' : 'taken')
    } else if (raw.status === 'cancelled' && local._raw.status !== 'cancelled') {
      await tell(local, working.has(raw.id) ? 'taken_with_work' : 'cancelled')
    } else if (office) {
      await tell(local, 'changed')
    }
  }
  state.notices.push(...notices)
  return answer
}

async function referenceOf(db, job) {
  const ticket = await db.get('tickets').find(job._raw.ticket_id).catch(() => null)
  return ticket ? ticket._raw.reference : ''
}

async function pushChanges({ changes, lastPulledAt }) {
  const answer = await api(`/api/v1/sync/watermelon/push?last_pulled_at=${lastPulledAt}`,
    { method: 'POST', body: changes })
  const result = {}
  if (answer && answer.experimentalRejectedIds) result.experimentalRejectedIds = answer.experimentalRejectedIds
  // A refused record stays on the device, unsynced; the technician sees which and why.
  state.rejected = (answer && answer.rejected) || []
  // A blob the server says it lacks although this device finished its upload (the server lost it): send again.
  for (const sha256 of (answer && answer.missing_blobs) || []) {
    const entry = await getBlob(sha256)
    if (entry && entry.state === 'done') await updateBlob(sha256, { state: 'pending', upload_url: null })
  }
  return result
}

const NEEDED_KEY = 'fieldsync.needed'
const OPEN_TICKETS = ['new', 'acknowledged', 'dispatched', 'on_site']

/** The parts each open ticket needs, kept on the device for offline use. The
 * WatermelonDB pull does not carry tickets' needed parts, so they are read
 * from the tickets API (scoped to this technician) after each sync. */
async function refreshNeededParts() {
  const needed = {}
  let cursor = null
  for (let page = 0; page < 20; page += 1) { // bounded: 10,000 tickets
    const query = new URLSearchParams({ limit: '500' })
    for (const status of OPEN_TICKETS) query.append('status', status)
    if (cursor) query.set('cursor', cursor)
    const answer = await api(`/api/v1/tickets?${query}`)
    for (const ticket of answer.items) needed[ticket.id] = ticket.needed_parts || []
    if (!answer.has_more) break
    cursor = answer.next_cursor
  }
  localStorage.setItem(NEEDED_KEY, JSON.stringify(needed))
}

const VISITS_KEY = 'fieldsync.visits'

/** The earlier visits to the assets of the open jobs (five each), kept for offline use. */
async function refreshAssetVisits(db) {
  const me = (currentAuth() || {}).technician_id
  const jobs = await db.get('jobs').query(Q.where('technician_id', me ?? ''),
    Q.where('status', Q.notIn(['completed', 'cancelled']))).fetch()
  const assets = new Set()
  for (const job of jobs) {
    const ticket = await db.get('tickets').find(job._raw.ticket_id).catch(() => null)
    if (ticket && ticket._raw.asset_id) assets.add(ticket._raw.asset_id)
  }
  const visits = {}
  for (const assetId of [...assets].slice(0, 50)) { // bounded: the day's and the next days' machines
    visits[assetId] = (await api(`/api/v1/assets/${assetId}/visits?limit=5`)).items
  }
  localStorage.setItem(VISITS_KEY, JSON.stringify(visits))
}

export function assetVisits(assetId) {
  try {
    return (JSON.parse(localStorage.getItem(VISITS_KEY) || '{}')[assetId]) || []
  } catch {
    return []
  }
}

export function neededParts(ticketId) {
  try {
    return (JSON.parse(localStorage.getItem(NEEDED_KEY) || '{}')[ticketId]) || null
  } catch {
    return null
  }
}

/** Sync now (automatic or on demand). Resolves true when it went through. */
export async function sync(db) {
  if (state.running || !signedIn()) return false
  state.running = true
  changed()
  try {
    await synchronize({
      database: db,
      pullChanges: (args) => pullChanges(db, args),
      pushChanges,
      migrationsEnabledAtVersion: 1,
    })
    // The work on taken jobs has reached the server: now let them go.
    for (const id of [...held]) {
      const job = await db.get('jobs').find(id).catch(() => null)
      if (job && job._raw._status === 'synced') {
        await db.write(() => job.destroyPermanently())
        held.delete(id)
      }
    }
    await persist(db)
    await refreshNeededParts().catch((error) => console.warn('needed parts not refreshed', error))
    await refreshAssetVisits(db).catch((error) => console.warn('asset visits not refreshed', error))
    state.lastSyncAt = Date.now()
    state.error = null
    return true
  } catch (error) {
    state.error = errorOf(error)
    return false
  } finally {
    state.running = false
    await countPending(db).catch(() => {})
    changed()
    uploadPhotos(db) // the records went first; the bytes follow in the background
  }
}

/** Upload the photos' bytes with tus: resumable from the upload URL kept
 * beside the blob, and each blob once (marked done when the server has it). */
export async function uploadPhotos(db) {
  if (state.uploading || !signedIn()) return
  state.uploading = true
  changed()
  try {
    for (const entry of await pendingBlobs()) {
      await uploadOne(entry)
    }
    state.error = state.error && state.error.code === 'upload' ? null : state.error
  } catch (error) {
    state.error = error instanceof SignInNeeded ? errorOf(error) : { code: 'upload', message: String(error) }
  } finally {
    state.uploading = false
    state.upload = null
    await countPending(db).catch(() => {})
  }
}

function uploadOne(entry) {
  const auth = currentAuth()
  return new Promise((resolve, reject) => {
    const upload = new tus.Upload(entry.blob, {
      endpoint: '/api/v1/uploads/',
      uploadUrl: entry.upload_url || null,
      chunkSize: CHUNK,
      retryDelays: [0, 1000, 3000],
      storeFingerprintForResuming: false, // the URL is kept with the blob instead
      headers: { Authorization: `Bearer ${auth.token}` },
      metadata: { sha256: entry.sha256, filename: entry.name || `${entry.sha256}.jpg`, filetype: entry.type || 'image/jpeg' },
      onUploadUrlAvailable: () => updateBlob(entry.sha256, { upload_url: upload.url }),
      onProgress: (sent, total) => { state.upload = { sha256: entry.sha256, sent, total }; changed() },
      onSuccess: () => updateBlob(entry.sha256, { state: 'done', upload_url: upload.url }).then(resolve, reject),
      onError: (error) => {
        const status = error.originalResponse ? error.originalResponse.getStatus() : 0
        if (status === 401) reject(new SignInNeeded(401, { code: 'token_refused', message: String(error) }))
        else if (status === 404 || status === 410) {
          // The server forgot this upload (expired): start it again from the first byte.
          updateBlob(entry.sha256, { upload_url: null }).then(() => reject(error), reject)
        } else reject(error)
      },
    })
    upload.start()
  })
}

let timer = null
/** Sync soon after a local change, when the network is there. */
export function syncSoon(db, delay = 1500) {
  clearTimeout(timer)
  timer = setTimeout(() => { if (navigator.onLine) sync(db) }, delay)
}

export function startAutoSync(db) {
  // Every local change: kept on disk at once, counted, and sent when there is a network.
  let saving = null
  db.withChangesForTables(WRITABLE).subscribe((changes) => {
    // What a sync itself applied is synced already: only the technician's own changes count here.
    if (!changes || !changes.some((c) => c.record._raw._status !== 'synced')) return
    clearTimeout(saving)
    saving = setTimeout(() => { persist(db); countPending(db).catch(() => {}) }, 50)
    syncSoon(db)
  })
  document.addEventListener('visibilitychange', () => { if (document.hidden) persist(db) })
  window.addEventListener('pagehide', () => persist(db))
  window.addEventListener('online', () => sync(db))
  setInterval(() => { if (navigator.onLine) sync(db) }, 60000)
  countPending(db)
  if (navigator.onLine) sync(db)
}

export function dismissNotices() {
  state.notices = []
  changed()
}
