// Offline support: a queue of session logs and confirmations in IndexedDB, replayed with their
// client_id when the network returns (the server counts a client_id once), plus a small profile
// (who is signed in, which couple) so the week opens without network. Notes and check-ins are
// never stored here.
import * as api from './api.js';

const DB = 'tandem';
const listeners = new Set();
let flushing = null;

function open() {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB, 1);
    req.onupgradeneeded = () => {
      req.result.createObjectStore('queue', { keyPath: 'client_id' });
      req.result.createObjectStore('meta', { keyPath: 'key' });
    };
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

export const onChange = (fn) => listeners.add(fn);
const changed = () => listeners.forEach((fn) => fn());

export async function pending() {
  const all = (await tx('queue', 'readonly', (s) => s.getAll())) || [];
  return all.sort((a, b) => a.created_at.localeCompare(b.created_at));
}

// entry: {client_id, kind: 'log'|'confirm'|'dispute', url, body?, plan_item_id?, session_id?}
export async function enqueue(entry) {
  await tx('queue', 'readwrite', (s) => s.put({ ...entry, created_at: new Date().toISOString() }));
  changed();
}

async function remove(clientId) {
  await tx('queue', 'readwrite', (s) => s.delete(clientId));
}

// Replays the queue in order. A request that reached the server and got an answer leaves the
// queue (a 409 means the other partner was quicker: nothing left to do); a network failure
// keeps it for the next try. One replay at a time, across tabs too.
export function flush() {
  if (!flushing) {
    const run = async () => {
      const outcome = { sent: 0, refused: [] };
      for (const entry of await pending()) {
        try {
          await api.post(entry.url, entry.body);
          outcome.sent += 1;
        } catch (error) {
          if (error.offline || error.status === 401 || error.status >= 500) break;
          outcome.refused.push({ entry, message: error.message });
        }
        await remove(entry.client_id);
      }
      return outcome;
    };
    const locked = navigator.locks ? navigator.locks.request('tandem-queue', run) : run();
    flushing = locked.finally(() => {
      flushing = null;
      changed();
    });
  }
  return flushing;
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

export function clearAll() {
  return new Promise((resolve) => {
    const req = indexedDB.deleteDatabase(DB);
    req.onsuccess = req.onerror = req.onblocked = () => resolve();
  }).then(changed);
}
