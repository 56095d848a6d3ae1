// The work report (作业报告书): cause, solution, work done, adjustments,
// parts from the van, photos. Locked once the customer has signed it (an
// edit would void the signature).
import { Q } from '@nozbe/watermelondb'
import { addAdjustment, addPartUsage, addPhoto, removeAdjustment, saveReport, signOffOf } from '../actions.js'
import { getBlob } from '../blobs.js'
import { byId } from '../data/database.js'
import { t } from '../i18n.js'
import { field, flash, h } from '../ui.js'
import { actionThenSync } from './guard.js'
import { vanStock } from './van.js'

const TEXTS = ['fault_cause', 'solution', 'work_done']

export async function reportScreen({ db, params, refresh }) {
  const job = await byId(db, 'jobs', params.id)
  if (!job) return h('p.empty', {}, t('job.gone'))
  const { signature } = await signOffOf(db, job)
  const locked = Boolean(signature) || job.get('status') === 'completed'
  const adjustments = await db.get('adjustments').query(Q.where('job_id', job.id)).fetch()
  const usages = await db.get('part_usages').query(Q.where('job_id', job.id)).fetch()
  const photos = await db.get('photos').query(Q.where('job_id', job.id)).fetch()
  const stock = await vanStock(db)
  const partName = async (id) => { const p = await byId(db, 'parts', id); return p ? `${p.get('part_number')} ${p.get('name')}` : '—' }

  const guard = actionThenSync(db, refresh)

  const texts = TEXTS.map((name) => field(t(`report.${name}`),
    h('textarea', { name, id: `report-${name}`, rows: 3, disabled: locked, value: job.get(name) || '' })))
  const textForm = h('form.card', { id: 'report-texts', onsubmit: guard(async (event) => {
    const values = {}
    for (const name of TEXTS) values[name] = event.target.elements[name].value.trim() || null
    await saveReport(db, job, values)
    flash(t('report.saved'))
  }) }, h('h3', {}, t('report.title')), texts,
  locked ? h('p.note', {}, t('report.locked')) : h('button.primary', { type: 'submit', id: 'save-report' }, t('report.save')))

  const adjustmentRows = adjustments.map((a) => h('li.line', { 'data-adjustment': a.id },
    h('span', {}, `${a.get('parameter')}: ${a.get('value_before') || '—'} → ${a.get('value_after') || '—'} ${a.get('unit') || ''}`),
    locked ? null : h('button.small', { onclick: guard(() => removeAdjustment(db, a)) }, t('report.remove'))))
  const adjustmentForm = h('form.card', { id: 'adjustments', onsubmit: guard(async (event) => {
    const f = event.target.elements
    if (!f.parameter.value.trim()) throw Object.assign(new Error(), { code: 'adjustment_item_needed' })
    await addAdjustment(db, job, { parameter: f.parameter.value.trim(), value_before: f.before.value.trim() || null,
      value_after: f.after.value.trim() || null, unit: f.unit.value.trim() || null })
  }) }, h('h3', {}, t('report.adjustments')), h('ul.lines', {}, adjustmentRows),
  locked ? null : [field(t('adjustment.item'), h('input', { name: 'parameter', id: 'adj-item' })),
    h('div.pair', {}, field(t('adjustment.before'), h('input', { name: 'before', id: 'adj-before' })),
      field(t('adjustment.after'), h('input', { name: 'after', id: 'adj-after' }))),
    field(t('adjustment.unit'), h('input', { name: 'unit', id: 'adj-unit' })),
    h('button.secondary', { type: 'submit', id: 'add-adjustment' }, t('report.add_adjustment'))])

  const usageRows = await Promise.all(usages.map(async (u) => h('li.line', { 'data-usage': u.id },
    `${await partName(u.get('part_id'))} × ${u.get('quantity')}`,
    JSON.parse(u.get('serial_numbers') || '[]').length ? ` (${JSON.parse(u.get('serial_numbers')).join(', ')})` : '')))
  const serials = h('div', { id: 'serials' })
  const partSelect = h('select', { name: 'part', id: 'part-select', onchange: () => renderSerials() },
    h('option', { value: '' }, t('report.choose_part')),
    stock.map((s) => h('option', { value: s.part.id, 'data-serialised': s.part.get('serialised') ? '1' : '' },
      `${s.part.get('part_number')} ${s.part.get('name')} (${t('van.available', { n: s.available })})`)))
  const quantity = h('input', { name: 'quantity', id: 'part-quantity', type: 'number', min: '1', value: '1',
    inputmode: 'numeric', oninput: () => renderSerials() })
  function renderSerials() {
    const option = partSelect.selectedOptions[0]
    serials.replaceChildren()
    if (!option || !option.dataset.serialised) return
    const n = Math.min(50, Math.max(1, Number(quantity.value) || 1))
    for (let i = 0; i < n; i += 1) {
      serials.append(field(t('report.serial', { n: i + 1 }), h('input', { name: 'serial', class: 'serial', required: true })))
    }
  }
  const partForm = h('form.card', { id: 'parts', onsubmit: guard(async (event) => {
    const f = event.target.elements
    const choice = stock.find((s) => s.part.id === f.part.value)
    if (!choice) throw Object.assign(new Error(), { code: 'part_needed' })
    const n = Number(f.quantity.value)
    if (!Number.isInteger(n) || n < 1) throw Object.assign(new Error(), { code: 'quantity_invalid' })
    const serialNumbers = [...serials.querySelectorAll('input.serial')].map((i) => i.value.trim()).filter(Boolean)
    if (choice.part.get('serialised') && serialNumbers.length !== n) throw Object.assign(new Error(), { code: 'serials_needed' })
    await addPartUsage(db, job, { part: choice.part, quantity: n, serials: serialNumbers })
    flash(t('report.part_added'))
  }) }, h('h3', {}, t('report.parts')), h('ul.lines', {}, usageRows),
  locked ? null : [field(t('report.part'), partSelect), field(t('report.quantity'), quantity), serials,
    h('button.secondary', { type: 'submit', id: 'add-part' }, t('report.add_part'))])

  const photoList = h('ul.photos', {}, await Promise.all(photos.map(async (p) => {
    const blob = await getBlob(p.get('blob_sha256'))
    return h('li', { 'data-photo': p.id }, blob ? h('img', { src: URL.createObjectURL(blob.blob), alt: t('report.photo') })
      : h('span', {}, t('report.photo')), h('span.upload-state', {}, blob && blob.state === 'done' ? t('photo.uploaded')
      : blob ? t('photo.waiting') : t('photo.on_server')))
  })))
  const onFiles = guard(async (event) => {
    for (const file of event.target.files) await addPhoto(db, job, file)
    flash(t('report.photo_added'))
  })
  const photoCard = h('div.card', { id: 'photos' }, h('h3', {}, t('report.photos')), photoList,
    h('label.button.secondary', {}, t('report.camera'),
      h('input.hidden', { type: 'file', accept: 'image/*', capture: 'environment', id: 'photo-camera', onchange: onFiles })),
    h('label.button.secondary', {}, t('report.gallery'),
      h('input.hidden', { type: 'file', accept: 'image/*', multiple: true, id: 'photo-gallery', onchange: onFiles })))

  return h('section', { id: 'report' }, textForm, adjustmentForm, partForm, photoCard,
    h('nav.actions', {}, h('a.button.secondary', { href: `#/job/${job.id}` }, t('nav.back')),
      locked ? null : h('a.button.primary', { href: `#/job/${job.id}/signoff` }, t('job.open_signoff'))))
}
