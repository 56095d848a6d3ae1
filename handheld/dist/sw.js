/* The app shell's service worker: the shell is cached at install and served
 * from the cache first, so the app opens with no network; the API is never
 * cached (the data lives in WatermelonDB). CACHE and SHELL are filled in by
 * build.mjs: a new build is a new cache, and the old one is dropped. */
const CACHE = 'fieldsync-app-ba63386713a26366'
const SHELL = ["./","./app.js","./app.css","./manifest.webmanifest","./icon.svg"]
self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()))
})

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('fieldsync-app-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()))
})

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url)
  if (event.request.method !== 'GET' || url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return
  const scope = new URL(self.registration.scope).pathname
  if (!url.pathname.startsWith(scope)) return
  const key = url.pathname === `${scope}index.html` ? scope : url.pathname
  event.respondWith(caches.open(CACHE).then((cache) => cache.match(key).then((hit) => hit || fetch(event.request))))
})
