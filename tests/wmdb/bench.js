// The real client's side of bench/bench_wmdb_client.py: a first sync of a
// 5,000-record scope and an incremental sync of 100 changes through
// synchronize() (LokiJS in memory), against a server it starts. Prints one
// JSON line of figures. Bounded: BENCH_RUNS runs of each (default 3).
'use strict'

const crypto = require('node:crypto')
require('@nozbe/watermelondb/utils/common/randomId').setGenerator(() => crypto.randomUUID())
require('@nozbe/watermelondb/utils/common/logger').default.log = () => {}
const { openDatabase, sync } = require('./app')
const { Server } = require('./fieldsync')

const RUNS = Number(process.env.BENCH_RUNS || 3)
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]

async function count(database) {
  let total = 0
  for (const table of Object.keys(database.collections.map)) {
    total += await database.get(table).query().fetchCount()
  }
  return total
}

// The server's own time for its latest WatermelonDB pull (its request log, on the launcher's stderr).
function serverPullMs(server) {
  const lines = server.stderr.split('\n').filter((line) => line.includes('"path": "/api/v1/sync/watermelon/pull"'))
  const match = /"duration_ms": ([0-9.]+)/.exec(lines[lines.length - 1] || '')
  return match ? Number(match[1]) : NaN
}

async function main() {
  const backend = process.argv[2] || 'sqlite'
  const server = await Server.start(backend, process.argv[3], { logRequests: true })
  try {
    const seed = await server.run('seed_bench')
    const first = []
    const incremental = []
    const serverFirst = []
    const serverIncremental = []
    let records = 0
    for (let run = 0; run < RUNS; run += 1) {
      const token = await server.login(seed.technician.username, seed.password, `bench-${run}`)
      const database = openDatabase()
      let started = process.hrtime.bigint()
      await sync({ database, server: server.url, token })
      first.push(Number(process.hrtime.bigint() - started) / 1e6)
      await new Promise((resolve) => setTimeout(resolve, 100)) // the server's log line, read from its pipe
      serverFirst.push(serverPullMs(server))
      records = await count(database)
      await server.run('change_jobs', { count: 100 })
      const log = {}
      started = process.hrtime.bigint()
      await sync({ database, server: server.url, token, log })
      incremental.push(Number(process.hrtime.bigint() - started) / 1e6)
      await new Promise((resolve) => setTimeout(resolve, 100))
      serverIncremental.push(serverPullMs(server))
      if (log.remoteChangeCount !== 100) throw new Error(`incremental sync pulled ${log.remoteChangeCount}`)
    }
    const firstMs = median(first)
    console.log(JSON.stringify({ backend, records, runs: RUNS, first_ms: firstMs,
      records_per_s: records / (firstMs / 1000), incremental_ms: median(incremental),
      server_first_ms: median(serverFirst), server_incremental_ms: median(serverIncremental) }))
  } finally {
    await server.stop()
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
