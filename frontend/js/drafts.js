// What a person was writing, kept in this tab's memory only (never in any storage: notes and
// plans stay off the device) while they look elsewhere, until they send it or sign out.
const kept = new Map();

export const get = (key) => kept.get(key);
export const has = (key) => kept.has(key);

export function set(key, value) {
  if (value === undefined || value === null || value === '') kept.delete(key);
  else kept.set(key, value);
}

export const forget = (key) => kept.delete(key);
export const clear = () => kept.clear();
