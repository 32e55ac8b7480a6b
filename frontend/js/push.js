// @ts-check
// Notification permission and the push subscription. Permission is asked only when the person
// asks for notifications; once granted, every start re-sends the subscription so the server's
// copy never drifts from the browser's (endpoints change, and a shared phone may move it).
// `status()` says what is true now: permission, this device's subscription, and how the last
// push to it went, from the server.
import * as api from './api.js';

export const supported = () =>
  'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;

export const permission = () => (supported() ? Notification.permission : 'unsupported');

/** @param {string} value base64url */
function keyBytes(value) {
  const padded = (value + '='.repeat((4 - (value.length % 4)) % 4)).replace(/-/g, '+').replace(/_/g, '/');
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function current() {
  if (!supported()) return null;
  const registration = await navigator.serviceWorker.getRegistration();
  return registration ? registration.pushManager.getSubscription() : null;
}

/** @param {PushSubscription | PushSubscriptionJSON} subscription */
async function send(subscription) {
  await api.post('/api/push/subscriptions', 'toJSON' in subscription ? subscription.toJSON() : subscription);
}

// Asks for permission (the screen has said what notifications are for), subscribes this
// device and registers it. `fresh` drops an existing subscription first (one the server lost).
export async function enable({ fresh = false } = {}) {
  if (!supported()) throw new Error('This browser cannot show notifications from Tandem.');
  const answer = await Notification.requestPermission();
  if (answer !== 'granted') {
    throw new Error('Notifications are blocked. You can allow them for this site in your browser’s settings.');
  }
  const { public_key: publicKey } = await api.get('/api/push/vapid-public-key');
  const registration = await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  const key = keyBytes(publicKey);
  const existing = subscription && subscription.options.applicationServerKey;
  if (subscription && (fresh || (existing && !sameKey(new Uint8Array(existing), key)))) {
    await subscription.unsubscribe(); // lost by the server, or the server's key changed
    subscription = null;
  }
  if (!subscription) {
    try {
      subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
    } catch {
      throw new Error('This browser could not set up notifications just now (its push service did not answer). Please try again later.');
    }
  }
  await send(subscription);
}

/** @param {Uint8Array} a @param {Uint8Array} b */
function sameKey(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

let syncing = Promise.resolve();

// At each start: re-send this device's subscription; one the server dropped because the push
// service called it gone is dead, so a fresh one replaces it (permission was given already).
export function syncOnLoad() {
  syncing = (async () => {
    try {
      if (permission() !== 'granted') return;
      const subscription = await current();
      if (!subscription) return;
      if ((await lookup(subscription)) === 'unknown') await enable({ fresh: true });
      else await send(subscription);
    } catch {
      // Offline or no push service: the next start tries again.
    }
  })();
  return syncing;
}

/** @param {PushSubscription} subscription @returns {Promise<PushRecord | 'unknown' | 'unreachable'>} */
async function lookup(subscription) {
  try {
    return await api.post('/api/push/subscriptions/status', { endpoint: subscription.endpoint });
  } catch (error) {
    return api.statusOf(error) === 404 ? 'unknown' : 'unreachable';
  }
}

// The service worker re-subscribed (pushsubscriptionchange) and hands the result to the page.
export function listen() {
  if (!supported()) return;
  navigator.serviceWorker.addEventListener('message', (event) => {
    if (event.data && event.data.type === 'subscription' && api.signedIn()) {
      send(event.data.subscription).catch(() => {});
    }
  });
}

// At sign-out: drop this browser's subscription; the endpoint goes to the logout call so the
// server forgets it too.
export async function unsubscribe() {
  try {
    const subscription = await current();
    if (!subscription) return null;
    const endpoint = subscription.endpoint;
    await subscription.unsubscribe();
    return endpoint;
  } catch {
    return null;
  }
}

// {permission, subscribed, server}: server is the server's record of this device
// ({delivery, last_success_at, last_failure_at}), 'unknown' when it holds none (never
// registered, or dropped after the push service called it gone), or 'unreachable'.
/** @returns {Promise<PushStatus>} */
export async function status() {
  await syncing; // what the start-up sync changed counts
  /** @type {PushStatus} */
  const answer = { permission: permission(), subscribed: false, server: null };
  if (answer.permission !== 'granted') return answer;
  let subscription = null;
  try {
    subscription = await current();
  } catch {
    // No service worker: not subscribed.
  }
  answer.subscribed = Boolean(subscription);
  if (subscription) answer.server = await lookup(subscription);
  return answer;
}

export async function sendTest() {
  return api.post('/api/push/test');
}
