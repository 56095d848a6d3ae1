// Local schema migrations: each new SCHEMA_VERSION adds its steps here, and
// synchronize() asks the server for the columns a migration added.
import { schemaMigrations } from '@nozbe/watermelondb/Schema/migrations'

export const migrations = schemaMigrations({ migrations: [] })
