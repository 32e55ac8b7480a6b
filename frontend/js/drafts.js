// @ts-check
// What a person was writing, kept in this tab's memory only (never in any storage: notes and
// plans stay off the device) while they look elsewhere, until they send it or sign out.
/** @type {Map<string, any>} */
const kept = new Map();

/** @param {string} key */
export const get = (key) => kept.get(key);
/** @param {string} key */
export const has = (key) => kept.has(key);

/** @param {string} key @param {unknown} value nothing (null, undefined, ''): forgotten */
export function set(key, value) {
  if (value === undefined || value === null || value === '') kept.delete(key);
  else kept.set(key, value);
}

/** @param {string} key */
export const forget = (key) => kept.delete(key);
export const clear = () => kept.clear();
