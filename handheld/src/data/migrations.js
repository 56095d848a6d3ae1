// Local schema migrations: each new SCHEMA_VERSION adds its steps here, and
// synchronize() asks the server for the columns a migration added.
import { addColumns, schemaMigrations } from '@nozbe/watermelondb/Schema/migrations'

export const migrations = schemaMigrations({
  migrations: [
    { toVersion: 2, steps: [addColumns({ table: 'jobs', columns: [{ name: 'no_signature_note', type: 'string', isOptional: true }] })] },
  ],
})
