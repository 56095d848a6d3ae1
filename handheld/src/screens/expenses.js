// The job's expenses (费用): travel, transport, lodging, meals, other, in yuan to
// the fen, with a note and optionally a photo of the receipt. Recorded offline,
// synced with the rest; the technician edits or drops their own until they sync,
// after which they are the office's. The totals feed the monthly report's costs.
import { Q } from '@nozbe/watermelondb'
import {
  EXPENSE_KINDS, addExpense, addPhoto, expenseEditable, expenseValues, fenOf, removeExpense, updateExpense, yuanText,
} from '../actions.js'
import { getBlob } from '../blobs.js'
import { byId } from '../data/database.js'
import { formatTime, t } from '../i18n.js'
import { field, flash, h } from '../ui.js'
import { actionThenSync } from './guard.js'

// Literal keys (the build checks every key it finds in the sources is in each locale).
export const KIND_LABELS = {
  travel: () => t('expense.kind.travel'),
  transport: () => t('expense.kind.transport'),
  lodging: () => t('expense.kind.lodging'),
  meals: () => t('expense.kind.meals'),
  other: () => t('expense.kind.other'),
}
export const kindLabel = (kind) => (KIND_LABELS[kind] ? KIND_LABELS[kind]() : t('expense.kind.other'))

export async function expensesOf(db, jobId) {
  const expenses = await db.get('job_expenses').query(Q.where('job_id', jobId)).fetch()
  return expenses.sort((a, b) => (a.get('incurred_at') || 0) - (b.get('incurred_at') || 0))
}

/** Fen per kind and in all (integers: no float drift however many lines). */
export function totalsOf(expenses) {
  const byKind = {}
  let total = 0
  for (const e of expenses) {
    const fen = fenOf(e.get('amount'))
    byKind[e.get('kind')] = (byKind[e.get('kind')] || 0) + fen
    total += fen
  }
  return { byKind, total }
}

/** Minutes from setting off (the last periodic check-in before arrival: the one the en-route step
 * records) to the arrival check-in, or null when the check-ins do not say. */
export async function roadMinutes(db, jobId) {
  const checkIns = await db.get('check_ins').query(Q.where('job_id', jobId)).fetch()
  const arrival = checkIns.find((c) => c.get('kind') === 'arrival')
  if (!arrival || !arrival.get('recorded_at')) return null
  const before = checkIns.filter((c) => c.get('kind') === 'periodic' && c.get('recorded_at')
    && c.get('recorded_at') <= arrival.get('recorded_at'))
  if (!before.length) return null
  const setOff = Math.max(...before.map((c) => c.get('recorded_at')))
  return Math.round((arrival.get('recorded_at') - setOff) / 60000)
}

const dayOf = (ms) => {
  const d = new Date(ms || Date.now())
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}

export async function expensesScreen({ db, auth, params, refresh }) {
  const job = await byId(db, 'jobs', params.id)
  if (!job) return h('p.empty', {}, t('job.gone'))
  const expenses = await expensesOf(db, job.id)
  const editing = params.edit ? expenses.find((e) => e.id === params.edit && expenseEditable(e)) : null
  const { byKind, total } = totalsOf(expenses)

  const guard = actionThenSync(db, refresh)

  const rows = await Promise.all(expenses.map(async (e) => {
    const mine = expenseEditable(e)
    const receipt = e.get('receipt_ref') ? await byId(db, 'photos', e.get('receipt_ref')) : null
    const blob = receipt ? await getBlob(receipt.get('blob_sha256')) : null
    const details = [formatTime(e.get('incurred_at'), { date: true }),
      e.get('distance_km') !== null ? t('expense.km', { km: e.get('distance_km') }) : null,
      e.get('travel_minutes') !== null ? t('expense.minutes', { m: e.get('travel_minutes') }) : null,
      e.get('note')].filter(Boolean).join(' · ')
    return h('li.expense', { 'data-expense': e.id, 'data-synced': mine ? '0' : '1' },
      h('div.line', {},
        h('span', {}, kindLabel(e.get('kind'))),
        h('strong.amount', {}, yuanText(fenOf(e.get('amount'))))),
      h('div.note', {}, details),
      blob ? h('img.receipt', { src: URL.createObjectURL(blob.blob), alt: t('expense.receipt') }) : null,
      receipt && !blob ? h('div.note', {}, t('expense.receipt_on_server')) : null,
      mine
        ? h('div.pair', {},
          h('a.button.small.secondary', { href: `#/job/${job.id}/expenses/${e.id}`, 'data-edit': e.id }, t('expense.edit')),
          h('button.small', { 'data-remove': e.id, onclick: guard(async () => {
            if (!window.confirm(t('expense.remove_confirm'))) return
            await removeExpense(db, e)
            flash(t('expense.removed'))
          }) }, t('expense.remove')))
        : h('div.note.synced', {}, t('expense.synced')))
  }))

  const totals = h('div.card', { id: 'expense-totals' },
    h('h3', {}, t('expense.totals')),
    EXPENSE_KINDS.filter((k) => byKind[k]).map((k) => h('div.row', { 'data-kind': k },
      h('span.label', {}, kindLabel(k)), h('span.value', {}, yuanText(byKind[k])))),
    h('div.row', {}, h('strong', {}, t('expense.total')), h('strong', { id: 'expense-total' }, yuanText(total))))

  const current = (name, fallback = '') => (editing && editing.get(name) !== null ? editing.get(name) : fallback)
  const kind = h('select', { name: 'kind', id: 'expense-kind', onchange: () => showTravel() },
    EXPENSE_KINDS.map((k) => h('option', { value: k, selected: current('kind', 'travel') === k }, kindLabel(k))))
  const amount = h('input', { name: 'amount', id: 'expense-amount', inputmode: 'decimal', autocomplete: 'off',
    placeholder: '0.00', value: editing ? (fenOf(editing.get('amount')) / 100).toFixed(2) : '' })
  const travel = h('div', { id: 'expense-travel' }, h('div.pair', {},
    field(t('expense.distance'), h('input', { name: 'distance', id: 'expense-distance', inputmode: 'decimal',
      value: String(current('distance_km')) })),
    field(t('expense.travel_minutes'), h('input', { name: 'minutes', id: 'expense-minutes', inputmode: 'numeric',
      value: String(current('travel_minutes')) }))))
  // The road time the visit's check-ins give (set off → arrival), offered for the travel line; only a hint:
  // a check-in is recorded only where the position was known, and the way back has none.
  const road = await roadMinutes(db, job.id)
  if (road !== null) {
    travel.append(h('button.small.secondary', { type: 'button', id: 'expense-road-time', onclick: () => {
      travel.querySelector('#expense-minutes').value = String(road)
    } }, t('expense.road_time', { m: road })))
  }
  function showTravel() { travel.classList.toggle('hidden', kind.value !== 'travel') }
  showTravel()
  let receiptFile = null
  const receiptName = h('span.note', { id: 'expense-receipt-name' },
    editing && editing.get('receipt_ref') ? t('expense.receipt_kept') : '')
  const receiptInput = h('input.hidden', { type: 'file', accept: 'image/*', capture: 'environment',
    id: 'expense-receipt', onchange: (event) => {
      receiptFile = event.target.files[0] || null
      receiptName.textContent = receiptFile ? t('expense.receipt_chosen') : ''
    } })

  const form = h('form.card', { id: 'expense-form', onsubmit: guard(async (event) => {
    const f = event.target.elements
    const values = expenseValues({ kind: f.kind.value, amount: f.amount.value, note: f.note.value,
      distance: f.distance.value, minutes: f.minutes.value, day: f.day.value })
    if (receiptFile) {
      const photo = await addPhoto(db, job, receiptFile, 'other', t('expense.receipt_caption'))
      values.receipt_ref = photo.id
    }
    if (editing) {
      await updateExpense(db, editing, values)
      flash(t('expense.saved'))
      window.location.hash = `#/job/${job.id}/expenses`
    } else {
      await addExpense(db, job, values, auth && auth.user_id)
      flash(t('expense.added'))
    }
  }) },
  h('h3', {}, editing ? t('expense.edit_title') : t('expense.add_title')),
  field(t('expense.kind'), kind),
  field(t('expense.amount'), amount),
  travel,
  field(t('expense.day'), h('input', { name: 'day', id: 'expense-day', type: 'date', max: dayOf(Date.now()),
    value: dayOf(editing ? editing.get('incurred_at') : Date.now()) })),
  field(t('expense.note'), h('textarea', { name: 'note', id: 'expense-note', rows: 2, maxlength: 2000 },
    current('note'))),
  h('label.button.secondary', {}, t('expense.receipt_photo'), receiptInput), receiptName,
  h('button.primary', { type: 'submit', id: 'save-expense' }, editing ? t('expense.save') : t('expense.add')),
  editing ? h('a.button.secondary', { href: `#/job/${job.id}/expenses` }, t('expense.cancel_edit')) : null)

  return h('section', { id: 'expenses' },
    h('div.card', {}, h('h3', {}, t('expense.title')),
      expenses.length ? h('ul.lines', { id: 'expense-list' }, rows) : h('p.empty', {}, t('expense.none'))),
    totals, form,
    h('nav.actions', {}, h('a.button.secondary', { href: `#/job/${job.id}` }, t('nav.back'))))
}
