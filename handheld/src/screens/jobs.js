// Today and upcoming: the technician's open jobs in planned order, with the
// ticket's clocks, the customer, address and contact.
import { Q } from '@nozbe/watermelondb'
import { byId } from '../data/database.js'
import { formatDistance, formatDuration, formatTime, t } from '../i18n.js'
import { h } from '../ui.js'

const OPEN = ['assigned', 'accepted', 'en_route', 'on_site', 'incomplete']

export async function loadJob(db, job) {
  const ticket = await byId(db, 'tickets', job.get('ticket_id'))
  const customer = ticket ? await byId(db, 'customers', ticket.get('customer_id')) : null
  const site = ticket ? await byId(db, 'sites', ticket.get('site_id')) : null
  const asset = ticket ? await byId(db, 'assets', ticket.get('asset_id')) : null
  return { job, ticket, customer, site, asset }
}

/** On-site and resolve clocks: due time, time left, late. */
export function clocks(ticket, job, now = Date.now()) {
  if (!ticket) return []
  const out = []
  const onSiteDone = ['on_site', 'completed'].includes(job.get('status')) || job.get('arrived_at')
  for (const [key, due, done] of [['on_site', ticket.get('on_site_due_at'), onSiteDone],
    ['resolve', ticket.get('resolve_due_at'), job.get('status') === 'completed']]) {
    if (!due || done) continue
    const left = due - now
    out.push(h(`div.clock${left < 0 ? '.late' : left < 2 * 3600000 ? '.soon' : ''}`, { 'data-clock': key },
      h('span.clock-name', {}, t(`clock.${key}`)), ' ', h('span.clock-due', {}, formatTime(due)), ' ',
      h('strong.clock-left', {}, left < 0 ? t('clock.late', { d: formatDuration(left) })
        : t('clock.left', { d: formatDuration(left) }))))
  }
  return out
}

function km(a, b) {
  const rad = Math.PI / 180
  const dLat = (b.latitude - a.latitude) * rad
  const dLon = (b.longitude - a.longitude) * rad
  const x = Math.sin(dLat / 2) ** 2 + Math.cos(a.latitude * rad) * Math.cos(b.latitude * rad) * Math.sin(dLon / 2) ** 2
  return 12742 * Math.asin(Math.sqrt(x))
}

export async function jobsScreen({ db, auth, lastPosition }) {
  const jobs = await db.get('jobs').query(Q.where('technician_id', auth.technician_id),
    Q.where('status', Q.oneOf(OPEN))).fetch()
  jobs.sort((a, b) => (a.get('planned_start') ?? Infinity) - (b.get('planned_start') ?? Infinity))
  const rows = await Promise.all(jobs.map((job) => loadJob(db, job)))
  const endOfToday = new Date()
  endOfToday.setHours(23, 59, 59, 999)
  const today = rows.filter((r) => (r.job.get('planned_start') ?? 0) <= endOfToday.getTime())
  const later = rows.filter((r) => !today.includes(r))
  const card = ({ job, ticket, customer, site }) => h('a.card.job', { href: `#/job/${job.id}`, 'data-job': job.id },
    h('div.card-head', {}, h('strong', {}, ticket ? ticket.get('reference') : '—'),
      h(`span.status.s-${job.get('status')}`, {}, t(`status.${job.get('status')}`))),
    h('div.when', {}, formatTime(job.get('planned_start'))),
    h('div.summary', {}, ticket ? ticket.get('summary') : ''),
    h('div.customer', {}, customer ? customer.get('name') : ''),
    h('div.address', {}, site ? site.get('address') : '',
      lastPosition && site && site.get('latitude') !== null
        ? h('span.distance', {}, ` · ${formatDistance(km(lastPosition, { latitude: site.get('latitude'),
          longitude: site.get('longitude') }))}`) : null),
    customer && (customer.get('contact_name') || customer.get('phone'))
      ? h('div.contact', {}, [customer.get('contact_name'), customer.get('phone')].filter(Boolean).join(' · ')) : null,
    ...clocks(ticket, job))
  return h('section', { id: 'jobs' },
    h('h2', {}, t('jobs.today'), ' ', h('span.count', {}, String(today.length))),
    today.length ? today.map(card) : h('p.empty', {}, t('jobs.none_today')),
    h('h2', {}, t('jobs.upcoming'), ' ', h('span.count', {}, String(later.length))),
    later.length ? later.map(card) : h('p.empty', {}, t('jobs.none_upcoming')))
}
