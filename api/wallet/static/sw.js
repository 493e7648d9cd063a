// The service worker of the wallet and till shells: pages and modules come from the network
// when it answers and from this cache when it does not. API answers are never cached.
const CACHE = 'jifentong-shell-v1';
const SHELL = ['/wallet', '/till', '/wallet/manifest.webmanifest', '/wallet/static/wallet.css',
  '/wallet/static/wallet.js', '/wallet/static/till.js', '/wallet/static/common.js', '/wallet/static/api.js',
  '/wallet/static/crypto.js', '/wallet/static/jcs.js', '/wallet/static/record.js', '/wallet/static/receipt.js',
  '/wallet/static/store.js', '/wallet/static/i18n.js', '/wallet/static/pkcs8.js'];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin || !SHELL.includes(url.pathname)) return;
  event.respondWith(fetch(event.request).then((res) => {
    const copy = res.clone();
    caches.open(CACHE).then((c) => c.put(event.request, copy));
    return res;
  }).catch(() => caches.match(event.request)));
});
