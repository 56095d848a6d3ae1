// The real WatermelonDB client (@nozbe/watermelondb 0.28, LokiJS adapter,
// synchronize() with default settings and the glue of sync/README.md) against
// a FieldSync server on 127.0.0.1: each scenario reads the device's local
// database and the server (REST, or the launcher for what REST does not show).
'use strict'

const { describe, test, before, after, beforeEach } = require('node:test')
const assert = require('node:assert/strict')
const crypto = require('node:crypto')
const { setGenerator } = require('@nozbe/watermelondb/utils/common/randomId')
const { hasUnsyncedChanges } = require('@nozbe/watermelondb/sync')

const { LokiMemoryAdapter } = require('lokijs')
const { openDatabase, save, sync, TABLES } = require('./app')
const { Server, LossyProxy, backends } = require('./fieldsync')

// FieldSync's ids are UUIDs: the one line of set-up besides the glue.
setGenerator(() => crypto.randomUUID())
// LokiJS's chatter (console.log) off; WatermelonDB's errors and warnings stay (see quietly()).
require('@nozbe/watermelondb/utils/common/logger').default.log = () => {}

const REST = { jobs: '/jobs', tickets: '/tickets', customers: '/customers', sites: '/sites', assets: '/assets',
  parts: '/parts' }

// WatermelonDB reports what it finds wrong in a sync through console.error
// (e.g. a record sent as `updated` that the device lacks): collected here.
async function quietly(fn) {
  const logged = []
  const { error, warn } = console
  console.error = (...args) => logged.push(args.map(String).join(' '))
  console.warn = (...args) => logged.push(args.map(String).join(' '))
  try {
    await fn()
  } finally {
    console.error = error
    console.warn = warn
  }
  return logged
}

class Device {
  constructor(server, token, options = {}) {
    this.server = server
    this.token = token
    this.url = options.url || server.url
    this.database = openDatabase(options)
  }

  // synchronize(), asserting the client logged nothing; the sync log.
  async sync({ allowLogs = false } = {}) {
    const log = {}
    const logged = await quietly(() => sync({ database: this.database, server: this.url, token: this.token, log }))
    if (!allowLogs) assert.deepEqual(logged, [], 'WatermelonDB logged during sync')
    return log
  }

  async rows(table) {
    return (await this.database.get(table).query().fetch()).map((record) => record._raw)
  }

  async row(table, id) {
    return (await this.rows(table)).find((raw) => raw.id === id)
  }

  async edit(table, id, fields) {
    const record = await this.database.get(table).find(id)
    await this.database.write(() => record.update((r) => {
      for (const [name, value] of Object.entries(fields)) r._setRaw(name, value)
    }))
  }

  async create(table, fields) {
    let created
    await this.database.write(async () => {
      created = await this.database.get(table).create((r) => {
        for (const [name, value] of Object.entries(fields)) r._setRaw(name, value)
      })
    })
    return created.id
  }

  async remove(table, id) {
    const record = await this.database.get(table).find(id)
    await this.database.write(() => record.markAsDeleted())
  }

  unsynced() {
    return hasUnsyncedChanges({ database: this.database })
  }
}

for (const backend of backends()) {
  describe(`WatermelonDB client against FieldSync (${backend})`, () => {
    let server
    let seed
    let office

    const technician = async (deviceId = 'wmdb-handheld-1', options = {}) => new Device(server,
      await server.login(seed.technician.username, seed.password, deviceId), options)

    before(async () => {
      server = await Server.start(backend)
    })
    after(async () => {
      if (server) await server.stop()
    })
    beforeEach(async () => {
      seed = await server.run('reset')
      office = await server.login(seed.office.username, seed.password)
    })

    test('first sync: every table as REST shows it to the technician, nothing logged', async () => {
      const device = await technician()
      await device.sync()
      for (const [table, url] of Object.entries(REST)) {
        const rest = await server.all(device.token, url)
        const local = await device.rows(table)
        assert.deepEqual(local.map((r) => r.id).sort(), rest.map((r) => r.id).sort(), table)
      }
      const [job] = await server.all(device.token, `/jobs?ticket_id=${(await device.row('jobs', seed.jobs[0])).ticket_id}`)
      const local = await device.row('jobs', seed.jobs[0])
      assert.equal(local.instructions, job.instructions)
      assert.equal(local.status, job.status)
      assert.equal((await device.rows('stock_levels')).length, 3)
      assert.equal((await device.rows('adjustments')).length, 1)
      assert.equal(await device.unsynced(), false)
    })

    test('local edits are pushed once, and the next sync pulls nothing', async () => {
      const device = await technician()
      await device.sync()
      const [jobId] = seed.jobs
      const arrived = Date.UTC(2026, 0, 5, 9, 30)
      await device.edit('jobs', jobId, { status: 'on_site', arrived_at: arrived, work_done: 'Cleaned the condenser' })
      const adjustment = await device.create('adjustments', { job_id: jobId, parameter: 'superheat',
        value_before: '4', value_after: '6', unit: 'K' })
      await device.create('check_ins', { job_id: jobId, kind: 'arrival', latitude: 31.2, longitude: 121.4,
        recorded_at: arrived })
      await device.create('part_usages', { job_id: jobId, part_id: seed.parts[0], quantity: 2 })
      await device.sync()
      assert.equal(await device.unsynced(), false)

      const job = (await server.api(device.token, 'GET', `/jobs/${jobId}`)).body
      assert.equal(job.status, 'on_site')
      assert.equal(job.work_done, 'Cleaned the condenser')
      assert.equal(Date.parse(job.arrived_at), arrived)
      assert.equal((await server.run('get', { table: 'adjustments', id: adjustment })).value_after, '6')
      assert.equal(await server.run('count', { table: 'check_ins' }), 1)
      assert.equal(await server.run('count', { table: 'part_usages' }), 1)

      // What the device did not write itself comes: its van's stock of the part it used (10 - 2).
      const again = await device.sync()
      assert.equal(again.remoteChangeCount, 1)
      assert.equal((await device.rows('stock_levels')).find((l) => l.id === `${seed.technician.van}:${seed.parts[0]}`)
        .on_hand, 8)
      const quiet = await device.sync()
      assert.equal(quiet.remoteChangeCount, 0)
      assert.equal(quiet.localChangeCount, 0) // nothing to push: pushChanges not even called
    })

    test('both sides edit different fields: both kept on both sides', async () => {
      const device = await technician()
      await device.sync()
      const [jobId] = seed.jobs
      await device.edit('jobs', jobId, { work_done: 'Replaced the valve' })
      assert.equal((await server.api(office, 'PATCH', `/jobs/${jobId}`, { priority: 'urgent' })).status, 200)
      await device.sync()
      const local = await device.row('jobs', jobId)
      const remote = (await server.api(device.token, 'GET', `/jobs/${jobId}`)).body
      assert.deepEqual([local.priority, local.work_done], ['urgent', 'Replaced the valve'])
      assert.deepEqual([remote.priority, remote.work_done], ['urgent', 'Replaced the valve'])
      assert.deepEqual(await server.run('conflicts'), [])
      // The device merged the two itself before pushing: its push is its own write, not sent back.
      assert.equal((await device.sync()).remoteChangeCount, 0)
    })

    test('both sides edit the same field: the owner\'s value stands, the other is recorded as a conflict', async () => {
      // The client pulls first and merges locally (its own value over the server's, with the server's
      // version): only _changed and the pull before the push tell the server the device never saw the value.
      const device = await technician()
      await device.sync()
      const [jobId] = seed.jobs
      await device.edit('jobs', jobId, { fault_cause: 'Worn valve' })
      await server.run('update', { table: 'jobs', id: jobId, fields: { fault_cause: 'Refrigerant leak' } })
      await device.sync()
      const remote = (await server.api(device.token, 'GET', `/jobs/${jobId}`)).body
      assert.equal(remote.fault_cause, 'Worn valve') // the work report is the technician's
      assert.equal((await device.row('jobs', jobId)).fault_cause, 'Worn valve')
      const conflicts = await server.run('conflicts')
      assert.equal(conflicts.length, 1)
      assert.equal(conflicts[0].kind, 'field_conflict')
      assert.deepEqual(conflicts[0].fields.fault_cause, { server: 'Refrigerant leak', device: 'Worn valve',
        kept: 'device' })
    })

    test('two handhelds edit the same field offline: the second push is recorded as a conflict', async () => {
      const first = await technician('wmdb-handheld-1')
      const second = await technician('wmdb-handheld-2')
      await first.sync()
      await second.sync()
      const [jobId] = seed.jobs
      await first.edit('jobs', jobId, { work_done: 'Cleaned the coils' })
      await second.edit('jobs', jobId, { work_done: 'Replaced the fan' })
      await first.sync()
      await second.sync() // pulls the first one's report, keeps its own (its _changed), pushes it
      const remote = (await server.api(first.token, 'GET', `/jobs/${jobId}`)).body
      assert.equal(remote.work_done, 'Replaced the fan')
      const [conflict] = await server.run('conflicts')
      assert.equal(conflict.kind, 'field_conflict')
      assert.deepEqual(conflict.fields.work_done, { server: 'Cleaned the coils', device: 'Replaced the fan',
        kept: 'device' })
      await first.sync()
      assert.equal((await first.row('jobs', jobId)).work_done, 'Replaced the fan')
    })

    test('a lost answer (connection dropped after commit, then a 503) and a retry double nothing', async () => {
      const proxy = await LossyProxy.start(server.url)
      try {
        const device = await technician('wmdb-handheld-1', { url: proxy.url })
        device.url = proxy.url
        await device.sync()
        const [jobId] = seed.jobs
        await device.edit('jobs', jobId, { status: 'en_route' })
        await device.create('check_ins', { job_id: jobId, kind: 'arrival', latitude: 31.2, longitude: 121.4 })
        await device.create('adjustments', { job_id: jobId, parameter: 'pressure', value_after: '2.0' })
        await device.create('part_usages', { job_id: jobId, part_id: seed.parts[1], quantity: 3 })
        proxy.lose(1, 'drop')
        await assert.rejects(device.sync({ allowLogs: true }))
        proxy.lose(1, '503')
        await assert.rejects(device.sync({ allowLogs: true }))
        assert.equal(await device.unsynced(), true)
        await device.sync()
        assert.equal(await device.unsynced(), false)

        assert.equal(await server.run('count', { table: 'check_ins' }), 1)
        assert.equal(await server.run('count', { table: 'adjustments', where: { job_id: jobId } }), 2)
        assert.equal(await server.run('count', { table: 'part_usages' }), 1)
        const levels = await server.all(office, `/stock/levels?location_id=${seed.technician.van}`)
        assert.equal(levels.find((l) => l.part_id === seed.parts[1]).on_hand, 7)
        const job = (await server.api(device.token, 'GET', `/jobs/${jobId}`)).body
        assert.equal(job.status, 'en_route')
        assert.deepEqual(await server.run('conflicts'), [])
        assert.equal((await device.sync()).remoteChangeCount, 0)
      } finally {
        await proxy.stop()
      }
    })

    test('a record deleted on the server goes from the device', async () => {
      const device = await technician()
      await device.sync()
      const [adjustment] = await device.rows('adjustments')
      await server.run('delete', { table: 'adjustments', id: adjustment.id })
      await device.sync()
      assert.deepEqual(await device.rows('adjustments'), [])
    })

    test('a job reassigned away goes from the device with what only it needed', async () => {
      const device = await technician()
      await device.sync()
      const jobId = seed.jobs[3]
      const ticketId = (await device.row('jobs', jobId)).ticket_id
      const reassigned = await server.api(office, 'POST', `/jobs/${jobId}/reassign`, { technician_id: seed.other.id })
      assert.equal(reassigned.status, 200)
      await device.sync()
      // What the device might have edited stays until it has pushed once since (it could hold unpushed
      // work: see the next scenario), as the other technician's; what it cannot edit goes at once.
      assert.equal((await device.row('jobs', jobId)).technician_id, seed.other.id)
      assert.equal(await device.row('tickets', ticketId), undefined)
      await device.create('check_ins', { kind: 'departure', latitude: 31.2, longitude: 121.4 })
      await device.sync()
      await device.sync()
      assert.equal(await device.row('jobs', jobId), undefined)
      for (const [table, url] of Object.entries(REST)) {
        const rest = await server.all(device.token, url)
        assert.deepEqual((await device.rows(table)).map((r) => r.id).sort(), rest.map((r) => r.id).sort(), table)
      }
    })

    test('a job reassigned away while the device holds unpushed work: the work reaches the server', async () => {
      const device = await technician()
      await device.sync()
      const jobId = seed.jobs[2]
      await device.edit('jobs', jobId, { status: 'on_site', work_done: 'Compressor replaced', fault_cause: 'Seized' })
      await device.create('part_usages', { job_id: jobId, part_id: seed.parts[0], quantity: 1 })
      await device.create('adjustments', { job_id: jobId, parameter: 'current', value_after: '12', unit: 'A' })
      assert.equal((await server.api(office, 'POST', `/jobs/${jobId}/reassign`,
        { technician_id: seed.other.id })).status, 200)
      await device.sync() // default synchronize(): pull first, then push
      const job = await server.run('get', { table: 'jobs', id: jobId })
      assert.equal(job.technician_id, seed.other.id) // the reassignment stands
      assert.equal(await server.run('count', { table: 'part_usages', where: { job_id: jobId } }), 1)
      assert.equal(await server.run('count', { table: 'adjustments', where: { job_id: jobId } }), 1)
      // The report is kept by the reassigned-while-worked rule: in the job's conflict, for a dispatcher to decide
      // (the new holder's report is never overwritten by a former holder's).
      const [conflict] = (await server.run('conflicts')).filter((c) => c.id === jobId)
      assert.equal(conflict.kind, 'reassigned_while_worked')
      assert.equal(conflict.fields.work_done.device, 'Compressor replaced')
      assert.equal(conflict.fields.fault_cause.device, 'Seized')
      // Once pushed, the job leaves the device; the next sync is quiet.
      await device.sync()
      assert.equal(await device.row('jobs', jobId), undefined)
      assert.equal(await device.unsynced(), false)
      assert.equal((await device.sync()).remoteChangeCount, 0)
    })

    test('a job cancelled while the device holds unpushed work: the work reaches the server', async () => {
      const device = await technician()
      await device.sync()
      const jobId = seed.jobs[1]
      await device.edit('jobs', jobId, { status: 'on_site', work_done: 'Filters cleaned' })
      assert.equal((await server.api(office, 'POST', `/jobs/${jobId}/cancel`, { reason: 'Customer called' })).status,
        200)
      await device.sync()
      const job = await server.run('get', { table: 'jobs', id: jobId })
      assert.equal(job.status, 'cancelled')
      assert.equal(job.work_done, 'Filters cleaned')
      const kinds = (await server.run('conflicts')).filter((c) => c.id === jobId).map((c) => c.kind)
      assert.deepEqual(kinds, ['cancelled_while_worked'])
      await device.sync()
      assert.equal((await device.row('jobs', jobId)).status, 'cancelled')
      assert.equal(await device.unsynced(), false)
    })

    test('an app one schema version behind gets only what it knows; its update migrates with only what is new', async () => {
      const storage = new LokiMemoryAdapter()
      const token = await server.login(seed.technician.username, seed.password, 'wmdb-old-app')
      const old = new Device(server, token, { version: 1, storage, name: 'old-app' })
      await old.sync() // nothing logged: no table it lacks is sent
      assert.equal((await old.rows('jobs')).length, 4)
      assert.equal('customer_rating' in (await old.row('jobs', seed.jobs[0])), false)
      await old.edit('jobs', seed.jobs[1], { work_done: 'Done on the old app' })
      await old.sync()
      await server.api(office, 'PATCH', `/jobs/${seed.jobs[2]}`, { priority: 'urgent' })
      await save(old.database)

      // The app is updated: the same data under schema version 2 (a new table, a new column).
      const updated = new Device(server, token, { version: 2, storage, name: 'old-app' })
      const log = await updated.sync()
      assert.deepEqual(log.migration, { from: 1, tables: ['signatures'],
        columns: [{ table: 'jobs', columns: ['customer_rating'] }] })
      assert.equal((await updated.rows('signatures')).length, 1)
      assert.equal((await updated.row('jobs', seed.jobs[0])).customer_rating, 'satisfied')
      assert.equal((await updated.row('jobs', seed.jobs[2])).priority, 'urgent') // and what changed meanwhile
      assert.equal((await updated.row('jobs', seed.jobs[1])).work_done, 'Done on the old app')
      // Only what is new: the signatures, the jobs (their new column) and the changed job, nothing else again.
      assert.equal(log.remoteChangeCount, 1 + 4)
      assert.equal((await updated.sync()).remoteChangeCount, 0)
    })

    test('a job assigned to the technician arrives as created: nothing logged', async () => {
      const device = await technician()
      await device.sync()
      const moved = await server.api(office, 'POST', `/jobs/${seed.other_job}/reassign`,
        { technician_id: seed.technician.id })
      assert.equal(moved.status, 200)
      await server.api(office, 'PATCH', `/jobs/${seed.jobs[1]}`, { priority: 'high' })
      const log = await device.sync()
      assert.equal(log.remoteChangeCount >= 5, true) // the job, its ticket, customer, site and asset
      assert.equal((await device.row('jobs', seed.other_job)).technician_id, seed.technician.id)
      assert.equal((await device.row('jobs', seed.jobs[1])).priority, 'high')
    })

    test('records deleted on the device: an adjustment is deleted; a part used cannot be, and comes back', async () => {
      const device = await technician()
      await device.sync()
      const [jobId] = seed.jobs
      const [adjustment] = await device.rows('adjustments')
      const usage = await device.create('part_usages', { job_id: jobId, part_id: seed.parts[2], quantity: 1 })
      await device.sync()
      await device.remove('adjustments', adjustment.id)
      await device.remove('part_usages', usage)
      await device.sync()
      assert.equal(await server.run('get', { table: 'adjustments', id: adjustment.id }), null)
      assert.equal(await server.run('count', { table: 'part_usages' }), 1)
      assert.equal(await device.unsynced(), false)
      await device.sync() // the refused delete undone: the part usage comes back
      const back = await device.row('part_usages', usage)
      assert.equal(back.quantity, 1)
      assert.equal(back._status, 'synced')
      const levels = await server.all(office, `/stock/levels?location_id=${seed.technician.van}`)
      assert.equal(levels.find((l) => l.part_id === seed.parts[2]).on_hand, 9)
    })

    test('one refused record never blocks the device; the others apply and the reason is readable', async () => {
      const device = await technician()
      await device.sync()
      const [jobId] = seed.jobs
      const bad = await device.create('adjustments', { job_id: crypto.randomUUID(), parameter: 'pressure' })
      await device.create('check_ins', { job_id: jobId, kind: 'departure', latitude: 31.2, longitude: 121.4 })
      await device.edit('jobs', jobId, { work_done: 'Checked the fans' })
      const log = await device.sync()
      assert.deepEqual(log.rejectedIds, { adjustments: [bad] })
      assert.equal(await server.run('count', { table: 'check_ins' }), 1)
      assert.equal((await server.api(device.token, 'GET', `/jobs/${jobId}`)).body.work_done, 'Checked the fans')
      assert.equal((await device.row('adjustments', bad))._status, 'created') // kept, unsynced
      // Later syncs go on working (the refused record is offered again, and refused again).
      await device.edit('jobs', jobId, { solution: 'Fans cleaned' })
      const next = await device.sync()
      assert.deepEqual(next.rejectedIds, { adjustments: [bad] })
      assert.equal((await server.api(device.token, 'GET', `/jobs/${jobId}`)).body.solution, 'Fans cleaned')
      const response = await fetch(`${server.url}/api/v1/sync/watermelon/push?last_pulled_at=1`, {
        method: 'POST', headers: { Authorization: `Bearer ${device.token}` },
        body: JSON.stringify({ adjustments: { created: [await device.row('adjustments', bad)], updated: [],
          deleted: [] } }),
      })
      const answer = await response.json()
      assert.equal(answer.rejected[0].code, 'not_found')
      assert.match(answer.rejected[0].message, /no such job/)
    })

    test('a field the device may not write is refused visibly, the rest applies, the device gets the server value back', async () => {
      const device = await technician()
      await device.sync()
      const [jobId] = seed.jobs
      const before = (await device.row('jobs', jobId)).instructions
      await device.edit('jobs', jobId, { instructions: 'No need to call', fault_cause: 'Blocked filter' })
      await device.sync()
      const remote = (await server.api(device.token, 'GET', `/jobs/${jobId}`)).body
      assert.equal(remote.fault_cause, 'Blocked filter')
      assert.equal(remote.instructions, before)
      assert.equal(await device.unsynced(), false)
      await device.sync()
      const local = await device.row('jobs', jobId)
      assert.equal(local.instructions, before)
      assert.equal(local.fault_cause, 'Blocked filter')
      assert.equal(local.version, remote.version)
    })
  })
}

module.exports = { Device, TABLES }
