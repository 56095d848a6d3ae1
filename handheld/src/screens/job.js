// One job: the ticket, the site and asset, and the next step of the visit.
import { Q } from '@nozbe/watermelondb'
import { Refused, advance, nextStep, signOffOf, yuanText } from '../actions.js'
import { byId } from '../data/database.js'
import { formatTime, t } from '../i18n.js'
import { underWarranty } from '../report.js'
import { assetVisits, neededParts } from '../sync.js'
import { errorText, flash, h } from '../ui.js'
import { expensesOf, totalsOf } from './expenses.js'
import { clocks, loadJob } from './jobs.js'
import { noSignatureText } from './signoff.js'
import { vanStock } from './van.js'

export async function jobScreen({ db, auth, params, refresh, go }) {
  const job = await byId(db, 'jobs', params.id)
  if (!job) return h('section', {}, h('p.empty', {}, t('job.gone')), h('a.button', { href: '#/jobs' }, t('nav.jobs')))
  const { ticket, customer, site, asset } = await loadJob(db, job)
  const { signature, reason } = await signOffOf(db, job)
  const step = nextStep(job)
  const photos = await db.get('photos').query(Q.where('job_id', job.id)).fetchCount()
  const usages = await db.get('part_usages').query(Q.where('job_id', job.id)).fetchCount()
  const expenses = await expensesOf(db, job.id)
  const needed = ticket ? neededParts(ticket.id) : null
  const stock = needed && needed.length ? await vanStock(db) : []
  const neededRows = await Promise.all((needed || []).map(async (n) => {
    const part = await byId(db, 'parts', n.part_id)
    const inVan = stock.find((s) => s.part.id === n.part_id)
    const available = inVan ? inVan.available : 0
    return h('li.line', { 'data-needed': n.part_id },
      h('span', {}, `${part ? `${part.get('part_number')} ${part.get('name')}` : n.part_number || '—'} × ${n.quantity}`),
      h(`strong${available >= n.quantity ? '' : '.late'}`, {},
        available >= n.quantity ? t('job.in_van', { n: available }) : t('job.not_in_van', { n: available })))
  }))
  const row = (label, value) => (value ? h('div.row', {}, h('span.label', {}, label), h('span.value', {}, value)) : null)

  async function onAdvance(event) {
    event.target.disabled = true
    try {
      const where = await advance(db, job, auth.technician_id)
      if (where && where.refused) flash(t('geo.refused'), 'warn')
      else if (where && where.unavailable) flash(t('geo.unavailable'), 'warn')
      else flash(t(`status.done.${job.get('status')}`))
      refresh()
    } catch (error) {
      if (error instanceof Refused && error.code === 'sign_off_needed') {
        flash(t('job.sign_off_needed'), 'error')
        go(`#/job/${job.id}/signoff`)
      } else {
        flash(errorText(error), 'error')
        event.target.disabled = false
      }
    }
  }

  const status = job.get('status')
  return h('section', { id: 'job', 'data-status': status },
    h('div.card', {},
      h('div.card-head', {}, h('strong', {}, ticket ? ticket.get('reference') : '—'),
        h(`span.status.s-${status}`, {}, t(`status.${status}`))),
      ticket ? h('h2.summary', {}, ticket.get('summary')) : null,
      ticket ? row(t('job.category'), t(`category.${ticket.get('category')}`)) : null,
      row(t('job.planned'), formatTime(job.get('planned_start'))),
      ...clocks(ticket, job),
      ticket && ticket.get('description') ? h('p.description', {}, ticket.get('description')) : null,
      job.get('instructions') ? h('div.instructions', {}, h('span.label', {}, t('job.instructions')),
        h('p', {}, job.get('instructions'))) : null),
    h('div.card', {},
      h('h3', {}, t('job.site')),
      row(t('job.customer'), customer && customer.get('name')),
      row(t('job.address'), site && [site.get('name'), site.get('address')].filter(Boolean).join(' · ')),
      row(t('job.contact'), customer && customer.get('contact_name')),
      customer && customer.get('phone')
        ? h('a.button.secondary', { href: `tel:${customer.get('phone')}` }, `☎ ${customer.get('phone')}`) : null),
    asset ? h('div.card', { id: 'asset' },
      h('h3', {}, t('job.asset')),
      row(t('asset.model'), asset.get('model')),
      row(t('asset.serial'), asset.get('serial_number')),
      row(t('asset.warranty'), underWarranty(ticket, asset)
        ? t('asset.in_warranty', { end: asset.get('warranty_end') }) : t('asset.out_of_warranty')),
      assetVisits(asset.id).length ? h('div', { id: 'visits' }, h('h3', {}, t('asset.visits')),
        h('ul.lines', {}, assetVisits(asset.id).map((v) => h('li.visit', {},
          h('div', {}, `${formatTime(Date.parse(v.completed_at), { date: true })} · ${v.technician_name || ''}`),
          h('div.note', {}, [v.fault_cause, v.solution].filter(Boolean).join(' → ')))))) : null) : null,
    needed && needed.length ? h('div.card', { id: 'needed' }, h('h3', {}, t('job.needed_parts')),
      h('ul.lines', {}, neededRows)) : null,
    h('div.card', {},
      h('h3', {}, t('job.visit')),
      row(t('job.arrived'), job.get('arrived_at') && formatTime(job.get('arrived_at'))),
      row(t('job.completed'), job.get('completed_at') && formatTime(job.get('completed_at'))),
      row(t('job.report'), t('job.report_counts', { parts: usages, photos })),
      row(t('job.sign_off'), signature ? t('job.signed_by', { name: signature.get('signer_name') })
        : reason ? noSignatureText(job) : t('job.not_signed')),
      h('div.row', { id: 'job-expenses' }, h('span.label', {}, t('job.expenses')),
        h('span.value', {}, expenses.length
          ? t('job.expense_total', { n: expenses.length, total: yuanText(totalsOf(expenses).total) }) : t('job.no_expenses')))),
    h('nav.actions', {},
      ['on_site', 'completed'].includes(status)
        ? h('a.button.secondary', { href: `#/job/${job.id}/report`, id: 'open-report' }, t('job.open_report')) : null,
      status === 'on_site'
        ? h('a.button.secondary', { href: `#/job/${job.id}/signoff`, id: 'open-signoff' }, t('job.open_signoff'))
        : null,
      status !== 'cancelled'
        ? h('a.button.secondary', { href: `#/job/${job.id}/expenses`, id: 'open-expenses' }, t('job.open_expenses')) : null,
      step ? h('button.primary', { id: 'advance', onclick: onAdvance }, t(`step.${step.to}`)) : null))
}
