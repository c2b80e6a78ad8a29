// Makes the page work offline once loaded: every file it needs is cached on install, and
// requests go to the network first (so a new build shows up at once) and to the cache when
// there is no network. Nothing but the page's own files passes through here.

const CACHE = "tidemark-v1";
const FILES = [
  "./",
  "index.html",
  "style.css",
  "icon.svg",
  "app.js",
  "client.js",
  "worker.js",
  "pkg/tidemark.js",
  "pkg/tidemark_bg.wasm",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(FILES)).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok) {
          const copy = response.clone();
          event.waitUntil(caches.open(CACHE).then((cache) => cache.put(request, copy)));
        }
        return response;
      })
      .catch(async () => (await caches.match(request, { ignoreSearch: true })) ?? Response.error()),
  );
});
