// Builds the app into dist/ (committed, served by FieldSync at /app/). The
// output depends only on the sources and the locked packages, so CI can
// rebuild it and compare byte for byte.
import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { build } from 'esbuild'

const out = 'dist'
rmSync(out, { recursive: true, force: true })
mkdirSync(out)

// Every key used in the sources is in every locale file, and no locale has stray keys.
const locales = Object.fromEntries(readdirSync('src/locales').map((f) => [f, JSON.parse(readFileSync(`src/locales/${f}`, 'utf8'))]))
const used = new Set()
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).forEach((e) => {
  if (e.isDirectory()) walk(`${dir}/${e.name}`)
  else if (e.name.endsWith('.js')) {
    for (const m of readFileSync(`${dir}/${e.name}`, 'utf8').matchAll(/\bt\('([\w.]+)'/g)) used.add(m[1])
  }
})
walk('src')
const problems = []
for (const [file, strings] of Object.entries(locales)) {
  for (const key of used) if (!(key in strings)) problems.push(`${file}: missing ${key}`)
}
const [first, ...rest] = Object.values(locales)
for (const other of rest) {
  for (const key of Object.keys(first)) if (!(key in other)) problems.push(`a locale lacks ${key}`)
  for (const key of Object.keys(other)) if (!(key in first)) problems.push(`a locale lacks ${key}`)
}
if (problems.length) {
  console.error(problems.join('\n'))
  process.exit(1)
}

await build({
  entryPoints: ['src/main.js'],
  outfile: `${out}/app.js`,
  bundle: true,
  minify: process.env.DEBUG_BUILD ? false : true,
  format: 'iife',
  target: ['chrome100', 'safari15', 'firefox100'],
  platform: 'browser',
  legalComments: 'none',
  charset: 'utf8',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
})
for (const name of readdirSync('static')) copyFileSync(`static/${name}`, `${out}/${name}`)

const shell = ['index.html', 'app.js', 'app.css', 'manifest.webmanifest', 'icon.svg']
const digest = createHash('sha256')
for (const name of shell) digest.update(readFileSync(`${out}/${name}`))
const sw = readFileSync('src/sw.js', 'utf8')
  .replace('/* global CACHE, SHELL */', `const CACHE = 'fieldsync-app-${digest.digest('hex').slice(0, 16)}'\n` +
    `const SHELL = ${JSON.stringify(['./', ...shell.filter((n) => n !== 'index.html').map((n) => `./${n}`)])}`)
writeFileSync(`${out}/sw.js`, sw)
