// The customer's sign-off: the report in a clean view, a rating, an opinion
// and a finger signature (strokes with time and, where the device gives it,
// pressure), or the technician's reason why there is none.
import { Q } from '@nozbe/watermelondb'
import { NO_SIGNATURE_REASONS, recordNoSignature, sign, signOffOf } from '../actions.js'
import { byId } from '../data/database.js'
import { formatTime, t } from '../i18n.js'
import { syncSoon } from '../sync.js'
import { errorText, field, flash, h } from '../ui.js'
import { loadJob } from './jobs.js'

export const RATINGS = ['satisfied', 'acceptable', 'dissatisfied', 'very_poor']

function signaturePad() {
  const canvas = h('canvas', { id: 'signature-pad', width: 320, height: 180 })
  const strokes = []
  let current = null
  let started = null
  const ctx = canvas.getContext('2d')
  ctx.lineWidth = 2.5
  ctx.lineCap = 'round'
  const point = (event) => {
    const box = canvas.getBoundingClientRect()
    started = started ?? event.timeStamp
    const p = {
      x: Math.max(0, Math.round((event.clientX - box.left) * (canvas.width / box.width) * 10) / 10),
      y: Math.max(0, Math.round((event.clientY - box.top) * (canvas.height / box.height) * 10) / 10),
      t: Math.max(0, Math.round(event.timeStamp - started)),
    }
    // Pressure only where the device measures it (a mouse reports a fixed 0.5).
    if (event.pointerType !== 'mouse' && event.pressure > 0) p.p = Math.min(1, event.pressure)
    return p
  }
  canvas.addEventListener('pointerdown', (event) => {
    canvas.setPointerCapture(event.pointerId)
    current = [point(event)]
    strokes.push(current)
  })
  canvas.addEventListener('pointermove', (event) => {
    if (!current) return
    const p = point(event)
    const last = current[current.length - 1]
    current.push(p)
    ctx.beginPath()
    ctx.moveTo(last.x, last.y)
    ctx.lineTo(p.x, p.y)
    ctx.stroke()
  })
  const end = () => { current = null }
  canvas.addEventListener('pointerup', end)
  canvas.addEventListener('pointercancel', end)
  return {
    canvas,
    strokes: () => strokes.filter((s) => s.length > 1 || strokes.length === 1),
    clear: () => { strokes.length = 0; ctx.clearRect(0, 0, canvas.width, canvas.height) },
  }
}

export function noSignatureText(job) {
  const note = job.get('no_signature_note')
  return t('job.no_signature', { reason: `${t(`reason.${job.get('no_signature_reason')}`)}${note ? `: ${note}` : ''}` })
}

export async function signoffScreen({ db, params, go }) {
  const job = await byId(db, 'jobs', params.id)
  if (!job) return h('p.empty', {}, t('job.gone'))
  const { ticket, customer, site, asset } = await loadJob(db, job)
  const { signature, reason } = await signOffOf(db, job)
  const adjustments = await db.get('adjustments').query(Q.where('job_id', job.id)).fetch()
  const usages = await db.get('part_usages').query(Q.where('job_id', job.id)).fetch()
  const parts = await Promise.all(usages.map(async (u) => {
    const p = await byId(db, 'parts', u.get('part_id'))
    const serials = JSON.parse(u.get('serial_numbers') || '[]')
    return h('li', {}, `${p ? p.get('name') : '—'} × ${u.get('quantity')}${serials.length ? ` (${serials.join(', ')})` : ''}`)
  }))
  const section = (title, body) => (body ? h('div.report-part', {}, h('h4', {}, title), body) : null)
  const view = h('article.report-view', { id: 'report-view' },
    h('h2', {}, t('signoff.report_title')),
    h('p', {}, [ticket && ticket.get('reference'), customer && customer.get('name'), site && site.get('address')]
      .filter(Boolean).join(' · ')),
    asset ? h('p', {}, `${asset.get('model') || ''} · ${asset.get('serial_number') || ''}`) : null,
    h('p', {}, t('signoff.times', { arrived: formatTime(job.get('arrived_at')), now: formatTime(Date.now()) })),
    section(t('report.fault_cause'), job.get('fault_cause') && h('p', {}, job.get('fault_cause'))),
    section(t('report.solution'), job.get('solution') && h('p', {}, job.get('solution'))),
    section(t('report.work_done'), job.get('work_done') && h('p', {}, job.get('work_done'))),
    section(t('report.adjustments'), adjustments.length ? h('table', {}, h('tr', {}, h('th', {}, t('adjustment.item')),
      h('th', {}, t('adjustment.before')), h('th', {}, t('adjustment.after'))),
    adjustments.map((a) => h('tr', {}, h('td', {}, a.get('parameter')), h('td', {}, a.get('value_before') || '—'),
      h('td', {}, `${a.get('value_after') || '—'} ${a.get('unit') || ''}`)))) : null),
    section(t('report.parts'), parts.length ? h('ul', {}, parts) : null))

  if (signature || reason) {
    return h('section', { id: 'signoff' }, view, h('p.note', { id: 'signed' }, signature
      ? t('job.signed_by', { name: signature.get('signer_name') }) : noSignatureText(job)),
    h('a.button.primary', { href: `#/job/${job.id}` }, t('nav.back')))
  }

  const pad = signaturePad()
  const rating = h('fieldset.ratings', { id: 'rating' }, h('legend', {}, t('signoff.rating')),
    RATINGS.map((r) => h('label.choice', {}, h('input', { type: 'radio', name: 'rating', value: r }), t(`rating.${r}`))))
  const opinion = h('textarea', { id: 'opinion', rows: 2 })
  const signer = h('input', { id: 'signer-name', autocomplete: 'off', value: (customer && customer.get('contact_name')) || '' })
  const chosenRating = () => (rating.querySelector('input:checked') || {}).value || null

  async function onSign(event) {
    event.preventDefault()
    try {
      if (!chosenRating()) throw Object.assign(new Error(), { code: 'rating_needed' })
      if (!signer.value.trim()) throw Object.assign(new Error(), { code: 'signer_needed' })
      const strokes = pad.strokes()
      if (!strokes.length) throw Object.assign(new Error(), { code: 'signature_needed' })
      await sign(db, job, { signerName: signer.value.trim(), strokes, rating: chosenRating(), opinion: opinion.value.trim() })
      flash(t('signoff.signed'))
      syncSoon(db)
      go(`#/job/${job.id}`)
    } catch (error) {
      flash(errorText(error), 'error')
    }
  }
  const reasonSelect = h('select', { id: 'no-signature-reason' }, h('option', { value: '' }, t('signoff.choose_reason')),
    NO_SIGNATURE_REASONS.map((r) => h('option', { value: r }, t(`reason.${r}`))))
  const reasonText = h('input', { id: 'no-signature-note' })
  async function onNoSignature(event) {
    event.preventDefault()
    try {
      await recordNoSignature(db, job, { reason: reasonSelect.value, note: reasonText.value.trim(),
        rating: chosenRating(), opinion: opinion.value.trim() })
      flash(t('signoff.reason_recorded'))
      syncSoon(db)
      go(`#/job/${job.id}`)
    } catch (error) {
      flash(errorText(error), 'error')
    }
  }
  return h('section', { id: 'signoff' }, view,
    h('form.card', { id: 'sign-form', onsubmit: onSign }, rating, field(t('signoff.opinion'), opinion),
      field(t('signoff.signer'), signer), h('div.pad-label', {}, t('signoff.sign_here')), pad.canvas,
      h('div.pair', {}, h('button.secondary', { type: 'button', onclick: pad.clear }, t('signoff.clear')),
        h('button.primary', { type: 'submit', id: 'sign' }, t('signoff.confirm')))),
    h('details.card', { id: 'no-signature' }, h('summary', {}, t('signoff.no_signature')),
      h('form', { onsubmit: onNoSignature }, field(t('signoff.reason'), reasonSelect), field(t('signoff.note'), reasonText),
        h('button.secondary', { type: 'submit', id: 'record-reason' }, t('signoff.record_reason')))))
}
