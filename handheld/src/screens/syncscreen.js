import { formatTime, t } from '../i18n.js'
import { dismissNotices, state, sync } from '../sync.js'
import { errorText, h } from '../ui.js'

export function noticeText(n) {
  return t(`notice.${n.kind}`, { reference: n.reference || '—' })
}

export function syncScreen({ db, refresh, signOut }) {
  return h('section', { id: 'sync' },
    h('h2', {}, t('sync.title')),
    h('div.card', {},
      h('div.row', {}, h('span.label', {}, t('sync.pending')), h('strong', { id: 'sync-pending' }, String(state.pending))),
      h('div.row', {}, h('span.label', {}, t('sync.photos')), h('strong', { id: 'sync-photos' }, String(state.pendingPhotos))),
      h('div.row', {}, h('span.label', {}, t('sync.last')),
        h('span', { id: 'sync-last' }, state.lastSyncAt ? formatTime(state.lastSyncAt) : t('sync.never'))),
      state.upload ? h('div.row', {}, h('span.label', {}, t('sync.uploading')),
        h('span', {}, `${Math.round((100 * state.upload.sent) / (state.upload.total || 1))}%`)) : null,
      state.error ? h('p.error', { id: 'sync-error' }, errorText(state.error)) : null,
      state.rejected.length ? h('div.error', { id: 'sync-rejected' }, h('p', {}, t('sync.rejected', { n: state.rejected.length })),
        h('ul.lines', {}, state.rejected.map((r) => h('li.line', {}, `${t(`table.${r.table}`)}: ${errorText(r)}`))))
        : null,
      h('button.primary', { id: 'sync-now', disabled: state.running,
        onclick: async () => { await sync(db); refresh() } }, state.running ? t('sync.running') : t('sync.now'))),
    state.notices.length ? h('div.card', { id: 'notices' }, h('h3', {}, t('sync.notices')),
      h('ul.lines', {}, state.notices.map((n) => h('li.line', {}, `${formatTime(n.at)} ${noticeText(n)}`))),
      h('button.secondary', { onclick: () => { dismissNotices(); refresh() } }, t('sync.dismiss'))) : null,
    h('button.secondary', { id: 'sign-out', onclick: signOut }, t('signin.sign_out')))
}
