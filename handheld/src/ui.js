// A few DOM helpers: the screens build plain elements (no framework, no
// inline styles or scripts: the page's Content-Security-Policy forbids them).
import { t } from './i18n.js'

export function h(tag, attrs = {}, ...children) {
  const [name, ...classes] = tag.split('.')
  const el = document.createElement(name)
  if (classes.length) el.className = classes.join(' ')
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue
    if (key.startsWith('on')) el.addEventListener(key.slice(2), value)
    else if (key === 'class') el.className = [el.className, value].filter(Boolean).join(' ')
    else if (key in el && key !== 'list' && typeof value !== 'string') el[key] = value
    else el.setAttribute(key, value === true ? '' : value)
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue
    el.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return el
}

export const field = (label, input) => h('label.field', {}, h('span', {}, label), input)

export function flash(message, kind = 'ok') {
  const el = document.getElementById('flash')
  el.textContent = message
  el.className = `flash ${kind}`
  el.hidden = false
  clearTimeout(flash.timer)
  flash.timer = setTimeout(() => { el.hidden = true }, 6000)
}

export function errorText(error) {
  const code = error && error.code
  const known = code && t(`error.${code}`) !== `error.${code}` ? t(`error.${code}`) : null
  return known || t('error.unexpected', { message: (error && error.message) || String(error) })
}
