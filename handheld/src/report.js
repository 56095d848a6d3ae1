// The work report (作业报告书) in FieldSync's canonical form, version 2
// (media/report.py): what the customer attests when signing (no departure
// time, recorded afterwards); the signature is bound to its SHA-256, so the
// bytes made here must be exactly the server's.
import { Q } from '@nozbe/watermelondb'
import { byId } from './data/database.js'

export const REPORT_VERSION = 2

const text = (value) => (value === null || value === undefined ? null
  : String(value).replace(/\r\n/g, '\n').replace(/\r/g, '\n').normalize('NFC'))
const time = (ms) => (ms === null || ms === undefined ? null : `${new Date(ms).toISOString().slice(0, 19)}Z`)

/** The server's one warranty rule (ledger.warranty_for_jobs): the ticket's
 * received date (UTC) on or before the asset's warranty end. */
export function underWarranty(ticket, asset) {
  const end = asset && asset.get('warranty_end')
  const received = ticket && ticket.get('received_at')
  if (!end || received === null || received === undefined) return false
  return new Date(received).toISOString().slice(0, 10) <= end
}

export async function canonicalReport(db, job) {
  const jobId = job.id
  const ticket = await byId(db, 'tickets', job.get('ticket_id'))
  const asset = ticket ? await byId(db, 'assets', ticket.get('asset_id')) : null
  const usages = await db.get('part_usages').query(Q.where('job_id', jobId)).fetch()
  const adjustments = await db.get('adjustments').query(Q.where('job_id', jobId)).fetch()
  const byIdOrder = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
  return {
    version: REPORT_VERSION,
    job_id: jobId,
    work_done: text(job.get('work_done')),
    fault_cause: text(job.get('fault_cause')),
    solution: text(job.get('solution')),
    arrived_at: time(job.get('arrived_at')),
    parts_used: usages.sort(byIdOrder).map((u) => ({
      id: u.id, part_id: u.get('part_id'), quantity: u.get('quantity'),
      serial_numbers: JSON.parse(u.get('serial_numbers') || '[]').map(text).sort(codePointOrder),
      under_warranty: asset ? underWarranty(ticket, asset) : Boolean(u.get('under_warranty')),
    })),
    adjustments: adjustments.sort(byIdOrder).map((a) => ({
      id: a.id, parameter: text(a.get('parameter')), value_before: text(a.get('value_before')),
      value_after: text(a.get('value_after')), unit: text(a.get('unit')),
    })),
  }
}

// Python sorts text by code point; JavaScript's default sort by UTF-16 unit.
function codePointOrder(a, b) {
  const x = [...a].map((c) => c.codePointAt(0))
  const y = [...b].map((c) => c.codePointAt(0))
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) if (x[i] !== y[i]) return x[i] - y[i]
  return x.length - y.length
}

/** json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")) */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort(codePointOrder)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`
  }
  return JSON.stringify(value)
}

export async function sha256Hex(bytes) {
  const digest = await crypto.subtle.digest('SHA-256', bytes)
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('')
}

export async function reportSha256(report) {
  return sha256Hex(new TextEncoder().encode(canonicalJson(report)))
}
