// A screen's form action: run it, sync soon, redraw; a refusal is flashed in words.
import { syncSoon } from '../sync.js'
import { errorText, flash } from '../ui.js'

export const actionThenSync = (db, refresh) => (fn) => async (event) => {
  event.preventDefault()
  try {
    await fn(event)
    syncSoon(db)
    refresh()
  } catch (error) {
    flash(errorText(error), 'error')
  }
}
