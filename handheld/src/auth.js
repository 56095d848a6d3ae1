// Signing in once: the device id is made here on first start and kept; the
// token stays until the server refuses it. A refused token only asks for the
// password again: the local database (and all that waits to sync) is kept.
const DEVICE_KEY = 'fieldsync.device'
const AUTH_KEY = 'fieldsync.auth'
export const APP_VERSION = '1.0.0'

export function deviceKey() {
  let key = localStorage.getItem(DEVICE_KEY)
  if (!key) {
    key = crypto.randomUUID()
    localStorage.setItem(DEVICE_KEY, key)
  }
  return key
}

export function currentAuth() {
  try {
    return JSON.parse(localStorage.getItem(AUTH_KEY) || 'null')
  } catch {
    return null
  }
}

export const signedIn = () => {
  const auth = currentAuth()
  return Boolean(auth && auth.token && !auth.refused)
}

/** The token was refused (expired, revoked): keep who it was, ask again. */
export function markRefused(code) {
  const auth = currentAuth()
  if (auth) localStorage.setItem(AUTH_KEY, JSON.stringify({ ...auth, token: null, refused: code || true }))
}

export class ApiError extends Error {
  constructor(status, payload) {
    const body = payload && payload.error ? payload.error : payload // the API's one error format: {"error": {...}}
    super((body && body.message) || `HTTP ${status}`)
    this.status = status
    this.code = (body && body.code) || null
    this.details = (body && body.details) || null
  }
}

export class SignInNeeded extends ApiError {}

/** Calls the API with the token; a 401 marks the sign-in refused. */
export async function api(path, { method = 'GET', body, headers = {} } = {}) {
  const auth = currentAuth()
  if (!auth || !auth.token) throw new SignInNeeded(401, { code: 'missing_token', message: 'sign in' })
  const response = await fetch(path, {
    method,
    // The server refuses apps older than its minimum version (426 app_update_required) by this header.
    headers: { Authorization: `Bearer ${auth.token}`, 'X-App-Version': APP_VERSION,
      ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: 'no-store',
  })
  const payload = await response.json().catch(() => null)
  if (response.status === 401) {
    const error = new SignInNeeded(401, payload)
    markRefused(error.code)
    throw error
  }
  if (!response.ok) throw new ApiError(response.status, payload)
  return payload
}

/** Returns the technician signed in; the caller resets the data of another one. */
export async function signIn(username, password) {
  const response = await fetch('/api/v1/auth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-App-Version': APP_VERSION },
    body: JSON.stringify({ username, password, device_id: deviceKey(), app_version: APP_VERSION }),
  })
  const payload = await response.json().catch(() => null)
  if (!response.ok) throw new ApiError(response.status, payload)
  if (payload.role !== 'technician') throw new ApiError(403, { code: 'not_a_technician', message: 'technicians only' })
  const auth = {
    token: payload.access_token, expires_at: payload.expires_at, username, user_id: payload.user_id,
    technician_id: payload.technician_id, device_id: payload.device_id,
  }
  localStorage.setItem(AUTH_KEY, JSON.stringify(auth))
  return auth
}

export function signOut() {
  localStorage.removeItem(AUTH_KEY)
}
