// The handheld's shell: sign-in, the screens, the header with the sync state,
// and the service worker that lets it open with no network.
import * as actions from './actions.js'
import { ApiError, currentAuth, signIn, signOut, signedIn } from './auth.js'
import { openDatabase, persist } from './data/database.js'
import { language, setLanguage, t } from './i18n.js'
import { expensesScreen } from './screens/expenses.js'
import { jobScreen } from './screens/job.js'
import { jobsScreen } from './screens/jobs.js'
import { reportScreen } from './screens/report.js'
import { signInScreen } from './screens/signin.js'
import { signoffScreen } from './screens/signoff.js'
import { noticeText, syncScreen } from './screens/syncscreen.js'
import { vanScreen } from './screens/van.js'
import { countPending, onChange, startAutoSync, state, sync } from './sync.js'
import { errorText, flash, h } from './ui.js'

const db = openDatabase()
// For the browser tests and benchmarks (and the curious): the database, the sync state, the actions.
window.fieldsync = { db, state, actions, sync: () => sync(db), persist: () => persist(db) }

const ROUTES = [
  [/^#\/job\/([\w-]+)\/report$/, reportScreen, 'report'],
  [/^#\/job\/([\w-]+)\/signoff$/, signoffScreen, 'signoff'],
  [/^#\/job\/([\w-]+)\/expenses(?:\/([\w-]+))?$/, expensesScreen, 'expenses'],
  [/^#\/job\/([\w-]+)$/, jobScreen, 'job'],
  [/^#\/van$/, vanScreen, 'van'],
  [/^#\/sync$/, syncScreen, 'sync'],
  [/^/, jobsScreen, 'jobs'],
]

let rendering = 0
async function render() {
  const ticket = ++rendering
  const main = document.getElementById('main')
  renderHeader()
  if (!signedIn()) {
    const pending = await countPending(db).catch(() => 0)
    if (ticket === rendering) main.replaceChildren(signInScreen({ onSignIn, pending }))
    document.body.dataset.screen = 'signin'
    return
  }
  const [pattern, screen, name] = ROUTES.find(([p]) => p.test(location.hash))
  const match = location.hash.match(pattern)
  try {
    const el = await screen({ db, auth: currentAuth(), params: { id: match[1], edit: match[2] }, refresh: render,
      go: (hash) => { location.hash = hash }, signOut: onSignOut, lastPosition })
    if (ticket !== rendering) return
    main.replaceChildren(el)
    document.title = `${t(`${name}.title`)} · FieldSync`
    document.body.dataset.screen = name
    document.body.dataset.ready = '1'
  } catch (error) {
    main.replaceChildren(h('p.error', {}, errorText(error)))
  }
}

function renderHeader() {
  const header = document.getElementById('header')
  const pending = state.pending + state.pendingPhotos
  const badge = h(`a.sync-badge${state.error ? '.bad' : pending ? '.waiting' : '.ok'}`, { href: '#/sync', id: 'sync-badge' },
    state.running ? t('sync.running') : pending ? t('sync.badge_pending', { n: pending }) : t('sync.badge_ok'))
  const other = language() === 'zh-CN' ? 'en' : 'zh-CN'
  header.replaceChildren(
    h('a.brand', { href: '#/jobs' }, 'FieldSync'), badge,
    h('button.lang', { id: 'lang', onclick: () => { setLanguage(other); render() } }, other === 'en' ? 'EN' : '中文'))
  const nav = document.getElementById('nav')
  nav.hidden = !signedIn()
  nav.replaceChildren(...[['#/jobs', 'nav.jobs'], ['#/van', 'nav.van'], ['#/sync', 'nav.sync']].map(([href, key]) =>
    h(`a${location.hash.startsWith(href) || (href === '#/jobs' && !location.hash) ? '.active' : ''}`, { href }, t(key))))
  const notice = document.getElementById('notice')
  const last = state.notices[state.notices.length - 1]
  notice.hidden = !last
  notice.textContent = last ? noticeText(last) : ''
}

async function onSignIn(username, password) {
  try {
    const before = currentAuth()
    const pending = await countPending(db)
    if (before && before.technician_id && before.username !== username && pending) {
      flash(t('signin.other_user_pending', { n: pending }), 'error')
      return
    }
    const auth = await signIn(username, password)
    if (before && before.technician_id && before.technician_id !== auth.technician_id) {
      await db.write(() => db.unsafeResetDatabase())
    }
    location.hash = '#/jobs'
    await render()
    flash(t('signin.welcome'))
    await sync(db)
  } catch (error) {
    flash(error instanceof ApiError ? errorText(error) : t('error.offline'), 'error')
  }
}

async function onSignOut() {
  const pending = await countPending(db)
  if (pending && !window.confirm(t('signin.sign_out_pending', { n: pending }))) return
  signOut()
  render()
}

let lastPosition = null
// Where the technician is, for the jobs' distances: asked once a start (a refusal just leaves them out).
actions.position(10000).then((where) => {
  if (where && !where.unavailable) { lastPosition = where; if (document.body.dataset.screen === 'jobs') render() }
})
let lastStatus = ''
onChange(() => {
  renderHeader()
  // A finished sync may have brought new jobs or taken some away: redraw the list.
  const status = `${state.running}|${state.lastSyncAt}|${state.notices.length}`
  if (!signedIn() && document.body.dataset.screen !== 'signin') render() // the server refused the token
  else if (status !== lastStatus && !state.running && ['jobs', 'sync'].includes(document.body.dataset.screen)) render()
  lastStatus = status
})
window.addEventListener('hashchange', render)
window.addEventListener('online', renderHeader)
window.addEventListener('offline', renderHeader)

document.documentElement.lang = language()
render()
startAutoSync(db)
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js', { scope: './' }).catch((error) => console.warn('no service worker', error))
}
