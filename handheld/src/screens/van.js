// The van: stock levels (less what this device used and has not synced yet)
// and what today used.
import { Q } from '@nozbe/watermelondb'
import { byId } from '../data/database.js'
import { t } from '../i18n.js'
import { h } from '../ui.js'

export async function vanStock(db) {
  const levels = await db.get('stock_levels').query().fetch()
  const unsynced = await db.get('part_usages').query(Q.where('_status', 'created')).fetch()
  const used = {}
  for (const u of unsynced) used[u.get('part_id')] = (used[u.get('part_id')] || 0) + u.get('quantity')
  const out = []
  for (const level of levels) {
    // The server names a level "<location id>:<part id>" and sends no key columns apart.
    const part = await byId(db, 'parts', level.get('part_id') || level.id.split(':')[1])
    if (!part) continue
    const onHand = (level.get('on_hand') || 0) - (used[part.id] || 0)
    out.push({ part, level, onHand, available: onHand - (level.get('reserved') || 0) })
  }
  return out.sort((a, b) => (a.part.get('part_number') < b.part.get('part_number') ? -1 : 1))
}

export async function vanScreen({ db }) {
  const stock = await vanStock(db)
  const start = new Date()
  start.setHours(0, 0, 0, 0)
  const today = await db.get('part_usages').query(Q.where('recorded_at', Q.gte(start.getTime()))).fetch()
  const todayRows = await Promise.all(today.map(async (u) => {
    const part = await byId(db, 'parts', u.get('part_id'))
    return h('li.line', {}, `${part ? part.get('part_number') : '—'} ${part ? part.get('name') : ''} × ${u.get('quantity')}`)
  }))
  return h('section', { id: 'van' },
    h('h2', {}, t('van.title')),
    stock.length ? h('ul.lines', {}, stock.map((s) => h('li.line', { 'data-part': s.part.id },
      h('span', {}, `${s.part.get('part_number')} ${s.part.get('name')}`),
      h(`strong${s.onHand <= 0 ? '.late' : ''}`, {}, t('van.on_hand', { n: s.onHand, unit: s.part.get('unit') || '' })))))
      : h('p.empty', {}, t('van.empty')),
    h('h2', {}, t('van.used_today')),
    todayRows.length ? h('ul.lines', {}, todayRows) : h('p.empty', {}, t('van.none_used')))
}
