// What a technician does to a job, written to the local database (synced
// later). Device times are recorded as such; the server orders by its own.
import { Q } from '@nozbe/watermelondb'
import { putBlob } from './blobs.js'
import { byId } from './data/database.js'
import { canonicalReport, reportSha256, sha256Hex, underWarranty } from './report.js'

// accept → en route → on site → completed; each step's check-in kind.
export const FLOW = [
  { from: 'assigned', to: 'accepted', checkIn: 'periodic' },
  { from: 'accepted', to: 'en_route', checkIn: 'periodic' },
  { from: 'en_route', to: 'on_site', checkIn: 'arrival' },
  { from: 'on_site', to: 'completed', checkIn: 'departure' },
]
export const nextStep = (job) => FLOW.find((step) => step.from === job.get('status')) || null

/** The position, or null when refused, unavailable or too slow. */
export function position(timeout = 8000) {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return }
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy_m: p.coords.accuracy }),
      (error) => resolve({ refused: error.code === 1, unavailable: true }),
      { enableHighAccuracy: true, timeout, maximumAge: 60000 })
  })
}

export async function signOffOf(db, job) {
  const signatures = await db.get('signatures').query(Q.where('job_id', job.id)).fetch()
  return { signature: signatures[signatures.length - 1] || null, reason: job.get('no_signature_reason') }
}

export class Refused extends Error {
  constructor(code) {
    super(code)
    this.code = code
  }
}

/** Move the job one step; returns the position outcome for the screen to tell. */
export async function advance(db, job, technicianId) {
  const step = nextStep(job)
  if (!step) throw new Refused('no_next_step')
  if (step.to === 'completed') {
    const { signature, reason } = await signOffOf(db, job)
    if (!signature && !reason) throw new Refused('sign_off_needed')
  }
  const where = await position()
  const now = Date.now()
  await db.write(async () => {
    const batch = [job.prepareUpdate((j) => {
      const values = { status: step.to }
      if (step.to === 'on_site' && !j.get('arrived_at')) values.arrived_at = now
      if (step.to === 'completed') {
        values.completed_at = now
        if (!j.get('departed_at')) values.departed_at = now
      }
      j.set(values)
    })]
    if (where && !where.unavailable) {
      batch.push(db.get('check_ins').prepareCreate((c) => c.set({
        technician_id: technicianId, job_id: job.id, kind: step.checkIn, latitude: where.latitude,
        longitude: where.longitude, accuracy_m: where.accuracy_m, recorded_at: now,
      })))
    }
    await db.batch(...batch)
  })
  return where
}

export async function saveReport(db, job, values) {
  await db.write(() => job.update((j) => j.set(values)))
}

export async function addAdjustment(db, job, values) {
  await db.write(() => db.get('adjustments').create((a) => a.set({ job_id: job.id, ...values })))
}

export async function removeAdjustment(db, adjustment) {
  await db.write(() => adjustment.markAsDeleted())
}

export async function addPartUsage(db, job, { part, quantity, serials }) {
  const ticket = await byId(db, 'tickets', job.get('ticket_id'))
  const asset = ticket ? await byId(db, 'assets', ticket.get('asset_id')) : null
  await db.write(() => db.get('part_usages').create((u) => u.set({
    job_id: job.id, part_id: part.id, quantity, serial_numbers: JSON.stringify(serials),
    under_warranty: underWarranty(ticket, asset), recorded_at: Date.now(),
  })))
}

/** Keep a photo's bytes on the device and name them in a photo record; the
 * record syncs with the rest, the bytes upload on their own. */
export async function addPhoto(db, job, file, kind = 'other', caption = null) {
  const bytes = await file.arrayBuffer()
  const sha256 = await sha256Hex(bytes)
  await putBlob({ sha256, blob: new Blob([bytes], { type: file.type || 'image/jpeg' }), type: file.type || 'image/jpeg',
    name: file.name || 'photo.jpg', job_id: job.id })
  const where = await position(3000)
  const photo = await db.write(() => db.get('photos').create((p) => p.set({
    job_id: job.id, blob_sha256: sha256, kind, caption, recorded_at: Date.now(), taken_at: file.lastModified || Date.now(),
    latitude: where && !where.unavailable ? where.latitude : null,
    longitude: where && !where.unavailable ? where.longitude : null,
  })))
  return photo
}

/** The customer signs the report as it is now (canonical form 2: what they
 * attest; the departure, recorded at completion, is not part of it). */
export async function sign(db, job, { signerName, strokes, rating, opinion }) {
  const now = Date.now()
  await db.write(() => job.update((j) => j.set({ customer_rating: rating, customer_opinion: opinion || null })))
  const report = await canonicalReport(db, job)
  const hash = await reportSha256(report)
  const where = await position(3000)
  await db.write(() => db.get('signatures').create((s) => s.set({
    job_id: job.id, signer_name: signerName, strokes: JSON.stringify(strokes), signed_at_device: now,
    report_sha256: hash, latitude: where && !where.unavailable ? where.latitude : null,
    longitude: where && !where.unavailable ? where.longitude : null,
  })))
  return hash
}

export const NO_SIGNATURE_REASONS = ['customer_absent', 'refused', 'unable', 'other']

/** Why the customer did not sign: one of the server's four reasons, and a note ("other" needs one). */
export async function recordNoSignature(db, job, { reason, note, rating, opinion }) {
  if (!NO_SIGNATURE_REASONS.includes(reason)) throw new Refused('reason_needed')
  if (reason === 'other' && !note) throw new Refused('note_needed')
  await db.write(() => job.update((j) => j.set({
    no_signature_reason: reason, no_signature_note: note || null, customer_rating: rating || null,
    customer_opinion: opinion || null,
  })))
}

// ---- cost inputs: the job's expenses (yuan to the fen), synced like the other facts ----------------------

export const EXPENSE_KINDS = ['travel', 'transport', 'lodging', 'meals', 'other']
export const MAX_AMOUNT = 10000000

/** "12.5" / "12.50" / "１２.５" → 1250 fen; null when it is not an amount (at most two decimals, above
 * zero, at most 10,000,000 yuan: the server's rule, so nothing the app takes is refused there). */
export function parseAmount(text) {
  const plain = String(text ?? '').trim().replace(/[０-９．]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/^[¥￥]/, '').trim()
  const match = /^(\d{1,8})(?:\.(\d{1,2}))?$/.exec(plain)
  if (!match) return null
  const fen = Number(match[1]) * 100 + Number((match[2] || '').padEnd(2, '0'))
  return fen > 0 && fen <= MAX_AMOUNT * 100 ? fen : null
}

export const fenOf = (yuan) => Math.round((yuan || 0) * 100)
export const yuanText = (fen) => `¥${(fen / 100).toFixed(2)}`

/** An expense's values from the form's text; throws Refused with the code the screen explains. */
export function expenseValues({ kind, amount, note, distance, minutes, day }) {
  if (!EXPENSE_KINDS.includes(kind)) throw new Refused('expense_kind_needed')
  const fen = parseAmount(amount)
  if (fen === null) throw new Refused('amount_invalid')
  const values = { kind, amount: fen / 100, note: (note || '').trim() || null, travel_minutes: null, distance_km: null }
  if (kind === 'travel') {
    if (String(distance || '').trim()) {
      const km = Number(String(distance).trim())
      if (!Number.isFinite(km) || km < 0 || km > 20000) throw new Refused('distance_invalid')
      values.distance_km = Math.round(km * 10) / 10
    }
    if (String(minutes || '').trim()) {
      const m = Number(String(minutes).trim())
      if (!Number.isInteger(m) || m < 0 || m > 7 * 24 * 60) throw new Refused('minutes_invalid')
      values.travel_minutes = m
    }
  }
  if (day) {
    // The day it was spent, at noon on the device's clock (a date alone would fall on the previous day in UTC).
    const [y, mo, d] = day.split('-').map(Number)
    const at = new Date(y, mo - 1, d, 12).getTime()
    if (!Number.isFinite(at) || at > Date.now() + 86400000) throw new Refused('expense_day_invalid')
    values.incurred_at = at
  }
  return values
}

/** Only what has not synced yet is the device's to change: once pushed an expense is the office's. */
export const expenseEditable = (expense) => expense._raw._status === 'created'

export async function addExpense(db, job, values, userId) {
  return db.write(() => db.get('job_expenses').create((e) => e.set({
    job_id: job.id, incurred_at: Date.now(), recorded_at: Date.now(), recorded_by_user_id: userId || null, ...values,
  })))
}

export async function updateExpense(db, expense, values) {
  if (!expenseEditable(expense)) throw new Refused('expense_synced')
  await db.write(() => expense.update((e) => e.set(values)))
}

/** An unsynced expense goes for good (the server never heard of it); a synced one cannot go. */
export async function removeExpense(db, expense) {
  if (!expenseEditable(expense)) throw new Refused('expense_synced')
  await db.write(() => expense.destroyPermanently())
}
