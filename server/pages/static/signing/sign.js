// The customer's signature pad: records strokes as points {x, y, t, p} in
// canvas units (t: ms since the first point, p: pressure when the pen gives it)
// and posts them with the report hash the page showed. No libraries, no CDN.
(function () {
  'use strict'
  var section = document.getElementById('sign')
  var canvas = document.getElementById('pad')
  var ctx = canvas.getContext('2d')
  var status = document.getElementById('status')
  var strokes = []
  var current = null
  var started = null
  // The page's language (server/i18n catalogue, embedded by the server as a JSON data block)
  var messages = {}
  try { messages = JSON.parse(document.getElementById('fs-i18n').textContent).messages } catch (e) { /* keys show */ }
  function t(key) { return messages[key] || key }

  ctx.lineCap = 'round'
  ctx.lineJoin = 'round'

  function point(event) {
    var rect = canvas.getBoundingClientRect()
    var now = Date.now()
    if (started === null) started = now
    var p = {
      x: Math.max(0, (event.clientX - rect.left) * (canvas.width / rect.width)),
      y: Math.max(0, (event.clientY - rect.top) * (canvas.height / rect.height)),
      t: now - started,
    }
    if (event.pointerType === 'pen' && event.pressure > 0) p.p = Math.min(1, event.pressure)
    return p
  }

  canvas.addEventListener('pointerdown', function (event) {
    event.preventDefault()
    canvas.setPointerCapture(event.pointerId)
    current = [point(event)]
    strokes.push(current)
  })
  canvas.addEventListener('pointermove', function (event) {
    if (!current) return
    var p = point(event)
    var last = current[current.length - 1]
    current.push(p)
    ctx.lineWidth = p.p ? 1 + 3 * p.p : 2.5
    ctx.beginPath()
    ctx.moveTo(last.x, last.y)
    ctx.lineTo(p.x, p.y)
    ctx.stroke()
  })
  function end() { current = null }
  canvas.addEventListener('pointerup', end)
  canvas.addEventListener('pointercancel', end)

  document.getElementById('clear').addEventListener('click', function () {
    strokes = []
    started = null
    ctx.clearRect(0, 0, canvas.width, canvas.height)
  })

  document.getElementById('submit').addEventListener('click', function () {
    var name = document.getElementById('signer-name').value.trim()
    if (!name) { status.textContent = t('report.sign_need_name'); return }
    if (!strokes.length) { status.textContent = t('report.sign_need_strokes'); return }
    var body = {
      signer_name: name,
      signer_role: document.getElementById('signer-role').value.trim() || null,
      strokes: strokes,
      report_sha256: section.dataset.reportSha256,
      signed_at_device: new Date().toISOString(),
    }
    status.textContent = t('report.sign_sending')
    fetch(section.dataset.submitUrl, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Signing-Token': section.dataset.token },
      body: JSON.stringify(body),
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data } })
    }).then(function (result) {
      if (result.ok) {
        status.textContent = t('report.sign_done')
        document.getElementById('submit').disabled = true
      } else {
        var err = (result.data && result.data.error) || {}
        status.textContent = messages['error.' + err.code] || err.message || t('error.network')
      }
    }).catch(function () {
      status.textContent = t('error.network')
    })
  })
})()
