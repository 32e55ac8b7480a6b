// Offline: session logs and answers queued in IndexedDB, replayed with their client_id (counted
// once by the server), and a small profile so the week opens offline. Never any text a person
// wrote. The queue is its author's: kept through an expired sign-in, sent only while they are
// signed in. An entry leaves it once taken or definitely refused (4xx); network errors and 5xx
// are retried, later and later.
import * as api from './api.js';
import { shortDate } from './ui.js';

const DB = 'tandem';
const VERSION = 2;
const FIRST_RETRY = 2000;
const LAST_RETRY = 5 * 60 * 1000;
const listeners = new Set();
let owner = null;
let flushing = null;
let retryTimer = null;
let retryDelay = 0;
let refusals = [];

function upgrade(request, oldVersion) {
  const db = request.result;
  const t = request.transaction;
  if (oldVersion < 1) {
    db.createObjectStore('queue', { keyPath: 'client_id' });
    db.createObjectStore('meta', { keyPath: 'key' });
  }
  if (oldVersion < 2) {
    const queue = t.objectStore('queue');
    queue.createIndex('owner', 'owner');
    // Older entries belong to whoever was signed in then.
    t.objectStore('meta').get('profile').onsuccess = (event) => {
      const profile = event.target.result;
      const who = profile && profile.user ? profile.user.id : null;
      queue.openCursor().onsuccess = (e) => {
        const cursor = e.target.result;
        if (!cursor) return;
        if (who) cursor.update({ ...cursor.value, owner: who });
        else cursor.delete();
        cursor.continue();
      };
    };
  }
}

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = (event) => upgrade(req, event.oldVersion);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function tx(store, mode, work) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const t = db.transaction(store, mode);
      const result = work(t.objectStore(store));
      t.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined);
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error);
    });
  } finally {
    db.close();
  }
}

// fn(outcome) after a replay, fn() after other changes.
export const onChange = (fn) => listeners.add(fn);
const changed = (outcome) => listeners.forEach((fn) => fn(outcome));

// Whose queue this page reads and sends (null: nobody's).
export function setOwner(userId) {
  if (owner !== userId) {
    clearTimeout(retryTimer);
    retryTimer = null;
    retryDelay = 0;
    refusals = [];
  }
  owner = userId || null;
}

export async function pending() {
  if (!owner) return [];
  const mine = (await tx('queue', 'readonly', (s) => s.index('owner').getAll(owner))) || [];
  return mine.sort((a, b) => a.created_at.localeCompare(b.created_at));
}

// entry: {client_id, kind: 'log'|'confirm'|'dispute', url, body?, plan_item_id?, session_id?, done_on?}
export async function enqueue(entry) {
  if (!owner) throw new Error('Please sign in again to save this.');
  await tx('queue', 'readwrite', (s) => s.put({ ...entry, owner, created_at: new Date().toISOString() }));
  changed();
}

async function remove(clientId) {
  await tx('queue', 'readwrite', (s) => s.delete(clientId));
}

function worthRetrying(error) {
  return error.offline || error.status === 401 || error.status === 408 || error.status === 425 || error.status === 429 || error.status >= 500;
}

const WHY = {
  log: {
    403: 'that exercise is assigned to your partner.',
    404: 'that exercise is no longer in your plan.',
    409: 'it can’t be counted now (an exercise for two needs your partner, who may have left).',
    422: 'the day is outside that week’s plan.',
  },
  answer: {
    403: 'only your partner can answer it.',
    404: 'that session is no longer there.',
    409: 'it had already been answered or withdrawn.',
  },
};

function refusalText(entry, error) {
  const log = entry.kind === 'log';
  const when = entry.done_on ? ` for ${shortDate(entry.done_on)}` : '';
  const what = log ? `The session you logged${when} on this phone was not saved` : `Your answer about the session${when} was not sent`;
  return `${what}: ${WHY[log ? 'log' : 'answer'][error.status] || 'Tandem did not accept it.'}`;
}

function scheduleRetry() {
  clearTimeout(retryTimer);
  retryDelay = Math.min(LAST_RETRY, retryDelay ? retryDelay * 2 : FIRST_RETRY);
  const who = owner;
  // Jitter: phones that come back together don't all knock at once.
  retryTimer = setTimeout(() => {
    retryTimer = null;
    if (owner === who && api.signedIn()) flush();
  }, retryDelay * (0.8 + Math.random() * 0.4));
}

// Replays the owner's queue in order, one replay at a time (across tabs too). `interactive`: a
// button was just pressed, the screen speaks for itself.
export function flush({ interactive = false } = {}) {
  if (!flushing) {
    const who = owner;
    const run = async () => {
      const outcome = { sent: 0, refused: [], waiting: 0, interactive };
      const queue = await pending();
      for (const [index, entry] of queue.entries()) {
        if (owner !== who) break; // signed out meanwhile
        try {
          await api.post(entry.url, entry.body);
          outcome.sent += 1;
        } catch (error) {
          if (worthRetrying(error)) {
            outcome.waiting = queue.length - index;
            outcome.signedOut = error.status === 401;
            break;
          }
          outcome.refused.push({ entry, message: refusalText(entry, error) });
        }
        await remove(entry.client_id);
      }
      return outcome;
    };
    const locked = navigator.locks ? navigator.locks.request('tandem-queue', run) : run();
    flushing = locked
      .then((outcome) => {
        if (outcome.waiting && !outcome.signedOut) scheduleRetry();
        else retryDelay = 0;
        refusals = [...refusals, ...outcome.refused.map((r) => r.message)];
        return outcome;
      })
      .finally(() => {
        flushing = null;
      });
    flushing.then((outcome) => changed(outcome), () => changed());
  }
  return flushing;
}

// Refusals in plain words, until dismissed.
export const refusalsNow = () => [...refusals];
export function dismissRefusals() {
  refusals = [];
}

export async function saveProfile(profile) {
  await tx('meta', 'readwrite', (s) => s.put({ key: 'profile', ...profile }));
}

export async function loadProfile() {
  try {
    return (await tx('meta', 'readonly', (s) => s.get('profile'))) || null;
  } catch {
    return null;
  }
}

function deleteDatabase() {
  return new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(DB);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  });
}

// Signing out: the profile goes, the owner's queue unless kept; an empty store goes whole.
export async function forget({ keepQueue }) {
  const who = owner;
  setOwner(null);
  try {
    await tx('queue', 'readwrite', (s) => {
      if (!who || keepQueue) return;
      s.index('owner').openKeyCursor(IDBKeyRange.only(who)).onsuccess = (e) => {
        const cursor = e.target.result;
        if (cursor) {
          s.delete(cursor.primaryKey);
          cursor.continue();
        }
      };
    });
    await tx('meta', 'readwrite', (s) => s.clear());
    if (!(await tx('queue', 'readonly', (s) => s.count()))) await deleteDatabase();
  } catch {
    // No storage: nothing to forget.
  }
  changed();
}
