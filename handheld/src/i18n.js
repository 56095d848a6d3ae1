// Every string a person reads comes from locales/<lang>.json; Chinese first.
import en from './locales/en.json'
import zh from './locales/zh-CN.json'

const LOCALES = { 'zh-CN': zh, en }
const KEY = 'fieldsync.lang'
let lang = localStorage.getItem(KEY) || 'zh-CN'
if (!LOCALES[lang]) lang = 'zh-CN'

export const language = () => lang
export const languages = () => Object.keys(LOCALES)

export function setLanguage(next) {
  if (!LOCALES[next]) return
  lang = next
  localStorage.setItem(KEY, next)
  document.documentElement.lang = next
}

/** The text for a key, with {name} placeholders filled. */
export function t(key, values = {}) {
  const text = LOCALES[lang][key] ?? LOCALES['zh-CN'][key] ?? key
  return text.replace(/\{(\w+)\}/g, (_, name) => (values[name] ?? ''))
}

const locale = () => (lang === 'en' ? 'en-GB' : 'zh-CN')

/** A moment in the device's own zone, never raw ISO text. */
export function formatTime(ms, { date = true } = {}) {
  if (ms === null || ms === undefined) return '—'
  const options = { hour: '2-digit', minute: '2-digit', hour12: false }
  if (date) Object.assign(options, { month: '2-digit', day: '2-digit' })
  return new Intl.DateTimeFormat(locale(), options).format(new Date(ms))
}

/** "2 h 5 min" style durations for the ticket clocks. */
export function formatDuration(ms) {
  const minutes = Math.max(0, Math.round(Math.abs(ms) / 60000))
  const days = Math.floor(minutes / 1440)
  const hours = Math.floor((minutes % 1440) / 60)
  const rest = minutes % 60
  if (days) return t('duration.dh', { d: days, h: hours })
  if (hours) return t('duration.hm', { h: hours, m: rest })
  return t('duration.m', { m: rest })
}

export function formatDistance(km) {
  return km < 1 ? t('distance.m', { m: Math.round(km * 1000) }) : t('distance.km', { km: km.toFixed(1) })
}
