// @ts-check
// Offline: session logs and answers queued in IndexedDB, replayed with their client_id (counted
// once by the server), and a small profile so the week opens offline. Never any text a person
// wrote. The queue is its author's: kept through an expired sign-in, sent only while they are
// signed in. An entry leaves it once taken or definitely refused (4xx); network errors and 5xx
// are retried, later and later, and never sooner than a server's Retry-After (429, 503) asks.
import * as api from './api.js';
import { shortDate } from './ui.js';

const DB = 'tandem';
const VERSION = 2;
const FIRST_RETRY = 2000;
const LAST_RETRY = 5 * 60 * 1000;
// A Retry-After longer than this is a misconfigured server: the queue does not sleep for a day.
const LONGEST_ASKED_WAIT = 60 * 60 * 1000;
/** @type {Set<(outcome?: ReplayOutcome) => void>} */
const listeners = new Set();
/** @type {Uuid | null} */
let owner = null;
/** @type {Promise<ReplayOutcome> | null} */
let flushing = null;
let retryTimer = 0;
let retryDelay = 0;
/** @type {{ at: number, asked: boolean } | null} */
let nextTry = null;
/** @type {string[]} */
let refusals = [];

/** @param {IDBOpenDBRequest} request @param {number} oldVersion */
function upgrade(request, oldVersion) {
  const db = request.result;
  const t = /** @type {IDBTransaction} */ (request.transaction);
  if (oldVersion < 1) {
    db.createObjectStore('queue', { keyPath: 'client_id' });
    db.createObjectStore('meta', { keyPath: 'key' });
  }
  if (oldVersion < 2) {
    const queue = t.objectStore('queue');
    queue.createIndex('owner', 'owner');
    // Older entries belong to whoever was signed in then.
    const read = t.objectStore('meta').get('profile');
    read.onsuccess = () => {
      const profile = read.result;
      const who = profile && profile.user ? profile.user.id : null;
      const walk = queue.openCursor();
      walk.onsuccess = () => {
        const cursor = walk.result;
        if (!cursor) return;
        if (who) cursor.update({ ...cursor.value, owner: who });
        else cursor.delete();
        cursor.continue();
      };
    };
  }
}

/** @returns {Promise<IDBDatabase>} */
function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, VERSION);
    req.onupgradeneeded = (event) => upgrade(req, event.oldVersion);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

// Runs `work` on one store in one transaction; resolves, once committed, with the result of
// the request `work` returned (if any).
/** @param {string} store @param {IDBTransactionMode} mode @param {(store: IDBObjectStore) => IDBRequest | void} work @returns {Promise<any>} */
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
/** @param {(outcome?: ReplayOutcome) => void} fn */
export const onChange = (fn) => listeners.add(fn);
/** @param {ReplayOutcome} [outcome] */
const changed = (outcome) => listeners.forEach((fn) => fn(outcome));

// Whose queue this page reads and sends (null: nobody's).
/** @param {Uuid | null} userId */
export function setOwner(userId) {
  if (owner !== userId) {
    clearTimeout(retryTimer);
    retryTimer = 0;
    retryDelay = 0;
    nextTry = null;
    refusals = [];
  }
  owner = userId || null;
}

/** @returns {Promise<StoredEntry[]>} */
export async function pending() {
  const who = owner;
  if (!who) return [];
  /** @type {StoredEntry[]} */
  const mine = (await tx('queue', 'readonly', (s) => s.index('owner').getAll(who))) || [];
  return mine.sort((a, b) => a.created_at.localeCompare(b.created_at));
}

/** @param {QueueEntry} entry */
export async function enqueue(entry) {
  if (!owner) throw new Error('Please sign in again to save this.');
  await tx('queue', 'readwrite', (s) => s.put({ ...entry, owner, created_at: new Date().toISOString() }));
  changed();
}

/** @param {Uuid} clientId */
async function remove(clientId) {
  await tx('queue', 'readwrite', (s) => s.delete(clientId));
}

/** @param {unknown} error */
function worthRetrying(error) {
  const status = api.statusOf(error);
  return status !== null && (status === 0 || status === 401 || status === 408 || status === 425 || status === 429 || status >= 500);
}

/** @type {Record<'log' | 'answer', Record<number, string>>} */
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

/** @param {QueueEntry} entry @param {number | null} status */
function refusalText(entry, status) {
  const log = entry.kind === 'log';
  const when = entry.done_on ? ` for ${shortDate(entry.done_on)}` : '';
  const what = log ? `The session you logged${when} on this phone was not saved` : `Your answer about the session${when} was not sent`;
  return `${what}: ${(status && WHY[log ? 'log' : 'answer'][status]) || 'Tandem did not accept it.'}`;
}

// `askedSeconds`: the server's Retry-After, when it gave one: the next try comes no sooner
// (the jitter only adds to it), and the backoff still grows underneath.
/** @param {number | null} askedSeconds */
function scheduleRetry(askedSeconds) {
  clearTimeout(retryTimer);
  retryDelay = Math.min(LAST_RETRY, retryDelay ? retryDelay * 2 : FIRST_RETRY);
  const asked = askedSeconds === null ? 0 : Math.min(LONGEST_ASKED_WAIT, askedSeconds * 1000);
  // Jitter: phones that come back together don't all knock at once.
  const wait = Math.max(retryDelay * (0.8 + Math.random() * 0.4), asked * (1 + Math.random() * 0.2));
  const who = owner;
  nextTry = { at: Date.now() + wait, asked: asked > 0 };
  retryTimer = setTimeout(() => {
    retryTimer = 0;
    nextTry = null;
    if (owner === who && api.signedIn()) flush();
  }, wait);
}

// When the queue is next tried on its own, and whether the server asked for that wait.
export const nextRetry = () => nextTry;

// Replays the owner's queue in order, one replay at a time (across tabs too). `interactive`: a
// button was just pressed, the screen speaks for itself.
/** @returns {Promise<ReplayOutcome>} */
export function flush({ interactive = false } = {}) {
  if (!flushing) {
    const who = owner;
    const run = async () => {
      /** @type {ReplayOutcome} */
      const outcome = { sent: 0, refused: [], waiting: 0, interactive };
      const queue = await pending();
      if (queue.length && nextTry && nextTry.asked && Date.now() < nextTry.at) {
        // The server asked for time: nothing is sent before then (its timer sends it).
        return { ...outcome, waiting: queue.length, held: true };
      }
      for (const [index, entry] of queue.entries()) {
        if (owner !== who) break; // signed out meanwhile
        try {
          await api.post(entry.url, entry.body);
          outcome.sent += 1;
        } catch (error) {
          if (worthRetrying(error)) {
            outcome.waiting = queue.length - index;
            outcome.signedOut = api.statusOf(error) === 401;
            outcome.retryAfter = api.retryAfterOf(error);
            break;
          }
          outcome.refused.push({ entry, message: refusalText(entry, api.statusOf(error)) });
        }
        await remove(entry.client_id);
      }
      return outcome;
    };
    const locked = navigator.locks ? navigator.locks.request('tandem-queue', run) : run();
    flushing = locked
      .then((outcome) => {
        if (outcome.held) return outcome;
        if (outcome.waiting && !outcome.signedOut) scheduleRetry(outcome.retryAfter ?? null);
        else {
          retryDelay = 0;
          nextTry = null;
        }
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

/** @param {OfflineProfile} profile */
export async function saveProfile(profile) {
  await tx('meta', 'readwrite', (s) => s.put({ key: 'profile', ...profile }));
}

/** @returns {Promise<OfflineProfile | null>} */
export async function loadProfile() {
  try {
    return (await tx('meta', 'readonly', (s) => s.get('profile'))) || null;
  } catch {
    return null;
  }
}

function deleteDatabase() {
  return /** @type {Promise<void>} */ (new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(DB);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  }));
}

// Signing out: the profile goes, the owner's queue unless kept; an empty store goes whole.
/** @param {{ keepQueue: boolean }} options */
export async function forget({ keepQueue }) {
  const who = owner;
  setOwner(null);
  try {
    await tx('queue', 'readwrite', (s) => {
      if (!who || keepQueue) return;
      const walk = s.index('owner').openKeyCursor(IDBKeyRange.only(who));
      walk.onsuccess = () => {
        const cursor = walk.result;
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
