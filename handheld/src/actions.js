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
export async function addPhoto(db, job, file, kind = 'other') {
  const bytes = await file.arrayBuffer()
  const sha256 = await sha256Hex(bytes)
  await putBlob({ sha256, blob: new Blob([bytes], { type: file.type || 'image/jpeg' }), type: file.type || 'image/jpeg',
    name: file.name || 'photo.jpg', job_id: job.id })
  const where = await position(3000)
  await db.write(() => db.get('photos').create((p) => p.set({
    job_id: job.id, blob_sha256: sha256, kind, recorded_at: Date.now(), taken_at: file.lastModified || Date.now(),
    latitude: where && !where.unavailable ? where.latitude : null,
    longitude: where && !where.unavailable ? where.longitude : null,
  })))
  return sha256
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
