// The FieldSync server under test (tests/wmdb/launcher.py, started here), a
// proxy that loses answers, and the server's REST view of a technician.
'use strict'

const { spawn } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')
const readline = require('node:readline')

const ROOT = path.resolve(__dirname, '..', '..')

function python() {
  if (process.env.FIELDSYNC_PYTHON) return process.env.FIELDSYNC_PYTHON
  const venv = path.join(ROOT, '.venv', 'bin', 'python')
  return fs.existsSync(venv) ? venv : 'python3'
}

// SQLite always; PostgreSQL too when TEST_DATABASE_URL is set (the database is wiped).
function backends() {
  return process.env.TEST_DATABASE_URL ? ['sqlite', 'postgresql'] : ['sqlite']
}

class Server {
  static async start(backend = 'sqlite', databaseUrl = process.env.TEST_DATABASE_URL, { logRequests = false } = {}) {
    const args = [path.join(__dirname, 'launcher.py'), ...(logRequests ? ['--log-requests'] : [])]
    if (backend === 'postgresql') args.push('--database', databaseUrl)
    const child = spawn(python(), args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] })
    const server = new Server(child)
    const ready = await server._next()
    server.url = ready.url
    return server
  }

  constructor(child) {
    this.child = child
    this.stderr = ''
    this.waiting = []
    this.lines = []
    child.stderr.on('data', (data) => { this.stderr = (this.stderr + data).slice(-20000) })
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      const waiter = this.waiting.shift()
      if (waiter) waiter.resolve(JSON.parse(line))
      else this.lines.push(line)
    })
    child.on('exit', (code) => {
      for (const waiter of this.waiting.splice(0)) {
        waiter.reject(new Error(`launcher exited (${code}):\n${this.stderr}`))
      }
    })
  }

  _next() {
    if (this.lines.length) return Promise.resolve(JSON.parse(this.lines.shift()))
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }))
  }

  // A command to the launcher (see launcher.py); its result.
  async run(cmd, args = {}) {
    this.child.stdin.write(JSON.stringify({ cmd, ...args }) + '\n')
    const answer = await this._next()
    if (!answer.ok) throw new Error(`${cmd}: ${answer.error}`)
    return answer.result
  }

  async stop() {
    if (this.child.exitCode !== null) return
    const exited = new Promise((resolve) => this.child.once('exit', resolve))
    this.child.stdin.end(JSON.stringify({ cmd: 'stop' }) + '\n')
    await exited
  }

  async login(username, password, deviceId) {
    const response = await fetch(`${this.url}/api/v1/auth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username, password, ...(deviceId ? { device_id: deviceId } : {}) }),
    })
    if (response.status !== 201) throw new Error(`login ${username}: ${response.status} ${await response.text()}`)
    return (await response.json()).access_token
  }

  async api(token, method, url, body) {
    const response = await fetch(`${this.url}/api/v1${url}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    })
    const text = await response.text()
    return { status: response.status, body: text ? JSON.parse(text) : null }
  }

  // Every item of a paginated REST collection.
  async all(token, url) {
    const items = []
    let cursor = null
    for (let page = 0; page < 100; page += 1) {
      const sep = url.includes('?') ? '&' : '?'
      const { status, body } = await this.api(token, 'GET', `${url}${sep}limit=200${cursor ? `&cursor=${cursor}` : ''}`)
      if (status !== 200) throw new Error(`GET ${url}: ${status} ${JSON.stringify(body)}`)
      items.push(...body.items)
      if (!body.next_cursor || !body.has_more) return items
      cursor = encodeURIComponent(body.next_cursor)
    }
    throw new Error(`GET ${url}: more than 100 pages`)
  }
}

// A proxy on 127.0.0.1 in front of the server. `lose(n, how)` makes the next
// n pushes reach the server, which commits, and then lose the answer:
// 'drop' closes the connection, '503' answers 503 instead.
class LossyProxy {
  static async start(target) {
    const proxy = new LossyProxy(new URL(target))
    await new Promise((resolve) => proxy.server.listen(0, '127.0.0.1', resolve))
    proxy.url = `http://127.0.0.1:${proxy.server.address().port}`
    return proxy
  }

  constructor(target) {
    this.target = target
    this.failures = []
    this.forwarded = []
    this.server = http.createServer((req, res) => this._handle(req, res))
  }

  lose(count, how) {
    for (let i = 0; i < count; i += 1) this.failures.push(how)
  }

  _handle(req, res) {
    const how = req.url.includes('/watermelon/push') ? this.failures.shift() : undefined
    this.forwarded.push(req.url.split('?')[0])
    const upstream = http.request({
      host: this.target.hostname, port: this.target.port, path: req.url, method: req.method, headers: req.headers,
    }, (answer) => {
      const chunks = []
      answer.on('data', (chunk) => chunks.push(chunk))
      answer.on('end', () => {
        if (how === 'drop') {
          req.socket.destroy() // the server committed; the device never hears of it
        } else if (how === '503') {
          res.writeHead(503, { 'Content-Type': 'text/plain' })
          res.end('Service Unavailable')
        } else {
          res.writeHead(answer.statusCode, answer.headers)
          res.end(Buffer.concat(chunks))
        }
      })
    })
    upstream.on('error', () => req.socket.destroy())
    req.pipe(upstream)
  }

  stop() {
    this.server.closeAllConnections()
    return new Promise((resolve) => this.server.close(resolve))
  }
}

module.exports = { Server, LossyProxy, backends, ROOT }
