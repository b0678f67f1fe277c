// The work app's service worker: pages the technician needs on site come from the
// network when there is one and from the cache when there is not. Actions are
// never sent from here (the page drains its own queue), so nothing depends on
// Background Sync.
var CACHE = "onsite-work-v1";
var SHELL = ["/today", "/static/css/app.css", "/static/js/app.js", "/static/js/work.js",
             "/static/img/favicon.svg", "/static/manifest.webmanifest"];

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(SHELL).catch(function () {});
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; })
      .map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function cacheable(url) {
  return url.origin === self.location.origin &&
    (url.pathname === "/today" || /^\/work\/\d+$/.test(url.pathname) ||
     url.pathname.indexOf("/static/") === 0 || /^\/proof\/\d+$/.test(url.pathname));
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (!cacheable(url)) { return; }
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok) {
      var copy = response.clone();
      caches.open(CACHE).then(function (cache) { cache.put(request, copy); });
    }
    return response;
  }).catch(function () {
    return caches.match(request, { ignoreSearch: url.pathname.indexOf("/static/") !== 0 })
      .then(function (hit) {
        return hit || new Response("You are offline and this page was not saved yet.",
                                   { status: 503, headers: { "Content-Type": "text/plain" } });
      });
  }));
});
