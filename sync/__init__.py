"""The sync engine: exactly-once push, conflicts, change log and pulls. No Flask here."""
