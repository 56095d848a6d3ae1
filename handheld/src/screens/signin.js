import { currentAuth } from '../auth.js'
import { t } from '../i18n.js'
import { field, h } from '../ui.js'

export function signInScreen({ onSignIn, pending }) {
  const auth = currentAuth()
  const username = h('input', { name: 'username', id: 'username', autocomplete: 'username', required: true,
    value: (auth && auth.username) || '', autocapitalize: 'none' })
  const password = h('input', { name: 'password', id: 'password', type: 'password', autocomplete: 'current-password',
    required: true })
  return h('section', { id: 'signin' },
    h('h2', {}, t('signin.title')),
    auth && auth.refused ? h('p.notice', { id: 'signin-again' }, t('signin.again', { code: t(`error.${auth.refused}`) })) : null,
    pending ? h('p.notice', {}, t('signin.pending_kept', { n: pending })) : null,
    h('form.card', { onsubmit: (event) => { event.preventDefault(); onSignIn(username.value.trim(), password.value) } },
      field(t('signin.username'), username), field(t('signin.password'), password),
      h('button.primary', { type: 'submit', id: 'signin-button' }, t('signin.submit'))))
}
