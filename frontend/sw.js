// @ts-check
// Tandem's service worker. The server fills in the version and the precache list.
// It caches the public app shell, and of everything under /api/ only the current week's plan
// of the signed-in couple (so it opens offline), without the words a dispute carries. It never
// caches notes, check-ins or anything else a person wrote, and it holds no token.
const VERSION = '__VERSION__';
const SHELL = `tandem-shell-${VERSION}`;
const PLAN = 'tandem-plan-v1';
const PRECACHE = /** @type {string[]} */ (/** @type {unknown} */ ("__PRECACHE__"));
const SCOPE_KEY = '/__tandem/plan-scope';
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

sw.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(SHELL);
    await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' })));
    await sw.skipWaiting();
  })());
});

sw.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const keep = new Set([SHELL, PLAN]);
    for (const key of await caches.keys()) {
      if (!keep.has(key)) await caches.delete(key);
    }
    await sw.clients.claim();
  })());
});

async function planScope() {
  const cache = await caches.open(PLAN);
  const stored = await cache.match(SCOPE_KEY);
  return stored ? stored.text() : '';
}

// What a partner wrote (a dispute's reason) never rests on the device: the offline copy of the
// plan keeps that a session was disputed, not the words.
/** @param {Response} response */
async function withoutWords(response) {
  const plan = await response.json();
  for (const item of plan.items || []) {
    for (const log of item.sessions || []) delete log.dispute_reason;
  }
  const headers = new Headers(response.headers);
  headers.delete('content-length');
  headers.delete('content-encoding');
  return new Response(JSON.stringify(plan), { headers });
}

/** @param {Request} request */
async function planFirstFromNetwork(request) {
  const cache = await caches.open(PLAN);
  try {
    const response = await fetch(request);
    if (response.status === 200) {
      await cache.put(request.url, await withoutWords(response.clone()));
    } else if (response.status === 404 || response.status === 401) {
      // No plan this week, or not signed in any more: keep nothing stale.
      await cache.delete(request.url);
    }
    return response;
  } catch (error) {
    const cached = await cache.match(request.url, { ignoreVary: true });
    if (cached) return cached;
    throw error;
  }
}

/** @param {Request} request */
async function fromShell(request) {
  const cache = await caches.open(SHELL);
  const cached = await cache.match(request, { ignoreSearch: true });
  return cached || fetch(request);
}

sw.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== sw.location.origin) return;
  if (url.pathname.startsWith('/api/')) {
    const match = url.pathname.match(/^\/api\/couples\/([^/]+)\/plans\/current$/);
    if (!match) return; // straight to the network, never cached
    event.respondWith((async () => {
      const scope = await planScope();
      return scope && scope === match[1] ? planFirstFromNetwork(request) : fetch(request);
    })());
    return;
  }
  if (request.mode === 'navigate') {
    event.respondWith((async () => {
      const cache = await caches.open(SHELL);
      return (await cache.match('/')) || fetch(request);
    })());
    return;
  }
  if (url.pathname.startsWith('/assets/') || url.pathname === '/manifest.webmanifest') {
    event.respondWith(fromShell(request));
  }
});

async function clearEverything() {
  for (const key of await caches.keys()) await caches.delete(key);
  // The shell is public and holds nothing personal: put it back so the app still opens offline.
  const cache = await caches.open(SHELL);
  await cache.addAll(PRECACHE);
}

/** The plan-scope changes, chained (see the 'plan-scope' message). */
let scopeChanges = Promise.resolve();

sw.addEventListener('message', (event) => {
  const data = event.data || {};
  /** @param {string} value */
  const reply = (value) => event.ports && event.ports[0] && event.ports[0].postMessage(value);
  if (data.type === 'logout') {
    event.waitUntil(clearEverything().then(() => reply('cleared'), () => reply('failed')));
  } else if (data.type === 'plan-scope') {
    // One change of scope at a time: two starts of the app close together would otherwise both
    // read the old scope, and the second would delete the plan cached in between.
    const change = scopeChanges.then(async () => {
      const cache = await caches.open(PLAN);
      // A different couple (or none): forget the plan cached for the previous one. The same
      // couple (every start of the app online) keeps it: this message can arrive after the
      // week's plan was fetched and cached, and must not undo that.
      const coupleId = data.coupleId ? String(data.coupleId) : '';
      if ((await planScope()) !== coupleId) {
        for (const key of await cache.keys()) await cache.delete(key);
        if (coupleId) await cache.put(SCOPE_KEY, new Response(coupleId));
      }
    });
    scopeChanges = change.catch(() => {});
    event.waitUntil(change.then(() => reply('ok')));
  }
});

/** @param {string | undefined} value @param {string} fallback */
function sameOriginUrl(value, fallback) {
  try {
    const url = new URL(value || fallback, sw.location.origin);
    return url.origin === sw.location.origin ? url.href : new URL(fallback, sw.location.origin).href;
  } catch {
    return new URL(fallback, sw.location.origin).href;
  }
}

sw.addEventListener('push', (event) => {
  /** @type {PushPayload} */
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    // Not JSON: shown with the neutral words below.
  }
  // As many actions as this platform shows (two in Chromium), in the order the server chose.
  // maxActions is Chromium's own: other browsers (and TypeScript's types) lack it.
  const room = Math.max(2, /** @type {{ maxActions?: number }} */ (self.Notification || {}).maxActions || 2);
  const actions = (Array.isArray(data.actions) ? data.actions : [])
    .filter((a) => a && a.action && a.title)
    .slice(0, room)
    .map((a) => ({ action: String(a.action), title: String(a.title) }));
  const sessionId = data.session_id || data.session_log_id;
  const confirmUrl = sessionId && actions.some((a) => a.action === 'confirm')
    ? `/#/session/${encodeURIComponent(sessionId)}`
    : '';
  const options = {
    body: data.body || 'Something is waiting for you in Tandem',
    // The notification id: a resend that did arrive replaces the first instead of stacking.
    tag: String(data.id || data.notification_id || 'tandem'),
    icon: `/assets/${VERSION}/icons/icon-192.png`,
    badge: `/assets/${VERSION}/icons/icon-192.png`,
    // The action token is this notification's own single-use key (it expires within a day).
    /** @type {TapData} */
    data: { url: data.url || '/#/', confirmUrl, actionToken: String(data.action_token || '') },
    actions,
  };
  // userVisibleOnly: every push shows a notification, whatever its payload.
  event.waitUntil(sw.registration.showNotification(data.title || 'Tandem', options));
});

/** @param {string} target */
async function openApp(target) {
  const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).origin === sw.location.origin) {
      client.postMessage({ type: 'navigate', url: target });
      try {
        await client.focus();
      } catch {
        // The tap's permission to focus can lapse while an action was being answered.
      }
      return;
    }
  }
  try {
    await sw.clients.openWindow(target);
  } catch {
    // As above: without that permission no window opens; the notification is gone either way.
  }
}

// "Done", "In 1 hour", "Tonight" are answered from the lock screen, without opening the app.
// The worker holds no access token: the notification's own token is the key. Anything but 204
// (spent, expired, several exercises to choose from, offline) opens the app instead.
const REMINDER_ACTIONS = new Set(['done', 'snooze_1h', 'snooze_evening']);

/** @param {string} token @param {string} action */
async function answerReminder(token, action) {
  try {
    const response = await fetch('/api/reminder-actions', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ token, action }),
      credentials: 'omit',
      cache: 'no-store',
    });
    return response.status === 204;
  } catch {
    return false;
  }
}

// What a tap does. A named function, so a test can run it on a notification Chromium shows.
/** @param {Notification} notification @param {string} action */
async function handleNotificationClick(notification, action) {
  /** @type {Partial<TapData>} */
  const data = notification.data || {};
  if (REMINDER_ACTIONS.has(action) && data.actionToken) {
    if (await answerReminder(data.actionToken, action)) return 'answered';
  }
  const target = sameOriginUrl(action === 'confirm' ? data.confirmUrl || data.url : data.url, '/#/');
  await openApp(target);
  return 'opened';
}

sw.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(handleNotificationClick(event.notification, event.action));
});

sw.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil((async () => {
    let subscription = event.newSubscription;
    if (!subscription) {
      const options = event.oldSubscription && event.oldSubscription.options;
      /** @type {BufferSource | null} */
      let key = options && options.applicationServerKey;
      if (!key) {
        const answer = await fetch('/api/push/vapid-public-key');
        key = urlBase64ToBytes((await answer.json()).public_key);
      }
      subscription = await sw.registration.pushManager.subscribe({
        userVisibleOnly: true,
        applicationServerKey: key,
      });
    }
    // The worker holds no token: the open app sends it to the server (and every start re-syncs).
    const windows = await sw.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const client of windows) {
      client.postMessage({ type: 'subscription', subscription: subscription.toJSON() });
    }
  })());
});

/** @param {string} value */
function urlBase64ToBytes(value) {
  const padded = (value + '='.repeat((4 - (value.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}
