// Local schema migrations: each new SCHEMA_VERSION adds its steps here, and
// synchronize() asks the server for the columns a migration added.
import { addColumns, createTable, schemaMigrations } from '@nozbe/watermelondb/Schema/migrations'
import { EXPENSE_COLUMNS } from './schema.js'

export const migrations = schemaMigrations({
  migrations: [
    { toVersion: 2, steps: [addColumns({ table: 'jobs', columns: [{ name: 'no_signature_note', type: 'string', isOptional: true }] })] },
    // Job expenses: a new table, so an installed app keeps everything it holds and its next sync (a migration
    // sync) brings the expenses already recorded on its jobs.
    { toVersion: 3, steps: [createTable({ name: 'job_expenses', columns: EXPENSE_COLUMNS })] },
  ],
})
