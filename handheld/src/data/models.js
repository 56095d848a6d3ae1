// Models without decorators: values are read from the raw record and written
// with _setRaw inside database.write(), which keeps WatermelonDB's change
// tracking (_status, _changed) that synchronize() pushes.
import { Model } from '@nozbe/watermelondb'

class Base extends Model {
  get(name) {
    return this._raw[name] ?? null
  }

  set(values) {
    for (const [name, value] of Object.entries(values)) this._setRaw(name, value ?? null)
  }
}

const TABLES = ['jobs', 'tickets', 'customers', 'sites', 'assets', 'parts', 'stock_levels', 'spare_units',
  'adjustments', 'part_usages', 'check_ins', 'photos', 'signatures', 'job_expenses']

export const modelClasses = TABLES.map((table) => {
  const cls = class extends Base {}
  cls.table = table
  Object.defineProperty(cls, 'name', { value: table })
  return cls
})
