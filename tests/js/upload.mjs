// Drives tus-js-client (Node) against a FieldSync server, for tests/test_uploads.py.
// Usage: node upload.mjs '{"endpoint": ..., "token": ..., "file": ..., "sha256": ...,
//                          "chunkSize": 65536, "abortAfter": <bytes or null>, "uploadUrl": <url or null>}'
// Prints one JSON line: {"url": ..., "bytesUploaded": ..., "finished": bool, "error": ...}.
import { readFileSync } from 'node:fs'
import * as tus from 'tus-js-client'

const args = JSON.parse(process.argv[2])
const file = readFileSync(args.file)
const timer = setTimeout(() => finish({ error: 'timed out' }), 60000)

function finish(result) {
  clearTimeout(timer)
  process.stdout.write(JSON.stringify(result) + '\n')
  process.exit(result.error ? 1 : 0)
}

let aborted = false
const upload = new tus.Upload(file, {
  endpoint: args.endpoint,
  uploadUrl: args.uploadUrl || null,
  chunkSize: args.chunkSize || Infinity,
  retryDelays: [],
  headers: { Authorization: `Bearer ${args.token}` },
  metadata: { sha256: args.sha256, filename: 'photo.jpg', filetype: 'image/jpeg' },
  onChunkComplete(_chunkSize, bytesAccepted) {
    if (args.abortAfter && !aborted && bytesAccepted >= args.abortAfter) {
      aborted = true
      upload.abort().then(() => finish({ url: upload.url, bytesUploaded: bytesAccepted, finished: false }))
    }
  },
  onSuccess() {
    finish({ url: upload.url, bytesUploaded: file.length, finished: true })
  },
  onError(error) {
    finish({ url: upload.url, error: String(error) })
  },
})
upload.start()
