// @ts-check
// The only module that calls fetch. The access token lives in this module's memory only;
// the refresh token is an HttpOnly cookie the page never sees.
/** @type {string | null} */
let token = null;
/** @type {Promise<boolean> | null} */
let refreshing = null;
const HINT = 'tandem.signedIn'; // "a refresh cookie may exist": no secret, avoids a 401 on first visits

export class ApiError extends Error {
  /**
   * @param {number} status 0: no network @param {string} message @param {unknown} [detail]
   * @param {FieldError[]} [fields] @param {number | null} [retryAfter] seconds
   */
  constructor(status, message, detail, fields = [], retryAfter = null) {
    super(message);
    this.status = status;
    this.detail = detail;
    // [{path: 'items.0.times_per_week', message: 'Please enter 1 or more.', where}]: what the
    // forms put next to the control concerned (ui.js `busy`).
    this.fields = fields;
    // How long the server asked us to wait before asking again (a 429 or 503's Retry-After),
    // in seconds; null when it did not say.
    this.retryAfter = retryAfter;
  }
  get offline() {
    return this.status === 0;
  }
}

// For a `catch` that tells failures apart: the status of a failed call (0: no network), null
// for any other error.
/** @param {unknown} error */
export const statusOf = (error) => (error instanceof ApiError ? error.status : null);
/** @param {unknown} error */
export const isOffline = (error) => statusOf(error) === 0;
/** @param {unknown} error @returns {number | null} */
export const retryAfterOf = (error) => (error instanceof ApiError ? error.retryAfter : null);
/** @param {unknown} error */
export const messageOf = (error) => (error instanceof Error && error.message) || String(error);

/** @type {Record<number, string>} */
const MESSAGES = {
  0: "You're offline. This needs the network; please try again when you're connected.",
  400: 'That request could not be understood. Please reload the page and try again.',
  401: 'Please sign in again.',
  403: "Your role in Tandem can't do that.",
  404: "That isn't here (any more).",
  409: "That doesn't fit what's happened in the meantime. Please reload the page.",
  413: 'That is too long to send. Please shorten it.',
  422: 'Please check what you entered.',
  429: 'Too many attempts. Please wait a moment and try again.',
  503: 'Tandem is busy or being updated. Please try again in a moment.',
};
const RELOAD = 'Something in this form could not be sent. Please reload the page and try again.';

// --- plain words for validation errors -------------------------------------------------------
// One table from pydantic's error types (with the limit the server sends along in `ctx`) to a
// sentence for a person. The field itself is named by where the sentence is shown.
/** @param {unknown} value */
const n = (value) => (typeof value === 'number' ? value.toLocaleString() : value);
/** @type {Record<string, (ctx: Record<string, any>) => string>} */
const TYPES = {
  missing: () => 'Please fill this in.',
  string_too_short: (c) => (!c.min_length || c.min_length <= 1 ? 'Please fill this in.' : `Please use at least ${n(c.min_length)} characters.`),
  string_too_long: (c) => (c.max_length ? `Please keep this to ${n(c.max_length)} characters or fewer.` : 'Please shorten this.'),
  too_short: (c) => (!c.min_length || c.min_length <= 1 ? 'Please choose at least one.' : `Please choose at least ${n(c.min_length)}.`),
  too_long: (c) => (c.max_length ? `Please choose no more than ${n(c.max_length)}.` : 'Please choose fewer.'),
  greater_than_equal: (c) => `Please enter ${n(c.ge)} or more.`,
  greater_than: (c) => `Please enter more than ${n(c.gt)}.`,
  less_than_equal: (c) => `Please enter ${n(c.le)} or less.`,
  less_than: (c) => `Please enter less than ${n(c.lt)}.`,
  int_parsing: () => 'Please enter a whole number.',
  int_type: () => 'Please enter a whole number.',
  int_from_float: () => 'Please enter a whole number.',
  float_parsing: () => 'Please enter a number.',
  float_type: () => 'Please enter a number.',
  bool_parsing: () => 'Please choose yes or no.',
  bool_type: () => 'Please choose yes or no.',
  enum: () => 'Please choose one of the options.',
  literal_error: () => 'Please choose one of the options.',
  date_parsing: () => 'Please enter a date.',
  date_type: () => 'Please enter a date.',
  date_from_datetime_parsing: () => 'Please enter a date.',
  date_from_datetime_inexact: () => 'Please enter a date.',
  datetime_parsing: () => 'Please enter a date and a time.',
  datetime_type: () => 'Please enter a date and a time.',
  datetime_from_date_parsing: () => 'Please enter a date and a time.',
  timezone_aware: () => 'Please enter a date and a time.',
  time_parsing: () => 'Please enter a time of day, such as 08:30.',
  time_type: () => 'Please enter a time of day, such as 08:30.',
  date_future: () => 'Please choose a date in the future.',
  datetime_future: () => 'Please choose a time in the future.',
  date_past: () => 'Please choose a date in the past.',
  datetime_past: () => 'Please choose a time in the past.',
  uuid_parsing: () => 'Please choose from the list.',
  uuid_type: () => 'Please choose from the list.',
  string_pattern_mismatch: () => 'Please check how this is written.',
  string_type: () => 'Please enter some text here.',
  list_type: () => 'Please choose from the options.',
  extra_forbidden: () => RELOAD,
  json_invalid: () => RELOAD,
  json_type: () => RELOAD,
  model_type: () => RELOAD,
  model_attributes_type: () => RELOAD,
  dict_type: () => RELOAD,
};
// pydantic's own wording, written for developers: never shown.
const DEVELOPER_WORDING = /^(Input|String|Value|Field|List|Dictionary|Object|Decimal|Date|Datetime|Time|URL|UUID|Tuple|Set)\b.*\b(should|required)\b|^Field required/i;

/** @param {unknown} text */
function sentence(text) {
  const trimmed = String(text || '').trim().replace(/^(Value error|Assertion failed), /, '');
  if (!trimmed) return '';
  const first = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

// The sentence for one entry of a 422's `detail`. Our own validators (value_error and the
// custom types) already speak in sentences: those are kept.
/** @param {ValidationEntry} entry */
export function plainMessage(entry) {
  const type = String(entry.type || '');
  if (TYPES[type]) return TYPES[type](entry.ctx || {});
  const own = sentence(entry.msg);
  if (!own || DEVELOPER_WORDING.test(own)) return 'Please check this.';
  return own;
}

/** @type {Record<string, string>} */
const NAMES = {
  display_name: 'Your name', email: 'Email', password: 'Password', new_password: 'New password',
  current_password: 'Current password', timezone: 'Time zone', label: 'Label', body: 'Note',
  text: 'Text', obstacles: 'What got in the way', minutes: 'Minutes', instructions: 'Instructions',
  times_per_week: 'Times per week', starts_at: 'Date and time', note: 'Note', code: 'Invitation code',
  invitation_code: 'Invitation code', recovery_code: 'Recovery code', times: 'Reminder times',
  weekdays: 'Days', quiet_hours: 'Quiet hours', paused_until: 'Pause until', assignee_ids: 'Who',
  mode: 'Mode', exercise_id: 'Exercise', reason: 'Reason', items: 'Exercise', ratings: 'Ratings',
  visibility: 'Who can read it', title: 'Title', role: 'Role',
};

// ["items", 0, "times_per_week"] → "Exercise 1, times per week".
/** @param {(string | number)[]} path */
export function placeName(path) {
  /** @type {string[]} */
  const parts = [];
  path.forEach((part, i) => {
    if (typeof part === 'number') {
      if (parts.length) parts[parts.length - 1] += ` ${part + 1}`;
      return;
    }
    const name = NAMES[part] || String(part).replace(/_/g, ' ');
    parts.push(i === 0 ? name : name.toLowerCase());
  });
  const joined = parts.join(', ');
  return joined ? joined[0].toUpperCase() + joined.slice(1) : '';
}

/** @param {ValidationEntry} entry @returns {FieldError} */
function located(entry) {
  const loc = (entry.loc || []).filter((p, i) => !(i === 0 && ['body', 'query', 'path'].includes(String(p))));
  const path = loc.map((p) => (/^\d+$/.test(String(p)) ? Number(p) : p));
  return { path: path.join('.'), where: placeName(path), message: plainMessage(entry) };
}

/** @param {number} status @param {unknown} detail @returns {{ message: string, fields: FieldError[] }} */
function describe(status, detail) {
  if (typeof detail === 'string' && detail) return { message: sentence(detail), fields: [] };
  if (Array.isArray(detail) && detail.length) {
    const fields = detail.map(located);
    const message = fields
      .map((f) => (f.where ? `${f.where}: ${f.message[0].toLowerCase()}${f.message.slice(1)}` : f.message))
      .filter((m, i, all) => all.indexOf(m) === i)
      .join(' ');
    return { message, fields };
  }
  if (status >= 500 && status !== 503) return { message: 'Something went wrong on the server. Please try again in a moment.', fields: [] };
  return { message: MESSAGES[status] || 'Something went wrong. Please try again.', fields: [] };
}

/** @param {string} method @param {string} path @param {unknown} [body] */
async function send(method, path, body) {
  /** @type {Record<string, string>} */
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  try {
    return await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, MESSAGES[0]);
  }
}

// A Retry-After header in seconds: delta-seconds ("120") or an HTTP date; null when absent
// or unreadable.
/** @param {string | null} value @returns {number | null} */
export function retryAfterSeconds(value, now = Date.now()) {
  const text = (value || '').trim();
  if (/^\d+$/.test(text)) return Number(text);
  const at = text ? Date.parse(text) : NaN;
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - now) / 1000));
}

/** @param {Response} response */
async function failure(response) {
  let detail = null;
  try {
    detail = (await response.json()).detail;
  } catch {
    // Not JSON (a proxy's page): the status says it.
  }
  const { message, fields } = describe(response.status, detail);
  const wait = response.status === 429 || response.status === 503 ? retryAfterSeconds(response.headers.get('Retry-After')) : null;
  return new ApiError(response.status, message, detail, fields, wait);
}

// path`/api/sessions/${id}/confirm`: every value encoded as one path segment.
/** @param {TemplateStringsArray} strings @param {unknown[]} values */
export function path(strings, ...values) {
  return strings.reduce((out, text, i) => out + text + (i < values.length ? encodeURIComponent(String(values[i])) : ''), '');
}

// Last defence against a path built from a crafted link: /api/ only, no dot segment or encoded
// separator that could climb to another route.
const UNSAFE_PATH = /(^|\/)\.{1,2}(\/|$)|%2e|%2f|%5c|\\/i;
/** @param {string} target */
function checkPath(target) {
  const pathname = target.split(/[?#]/)[0];
  if (!pathname.startsWith('/api/') || UNSAFE_PATH.test(pathname)) {
    throw new ApiError(404, MESSAGES[404]);
  }
}

// The answer's JSON (any: each screen says what it expects), its text, or null for a 204.
/** @param {string} method @param {string} path @param {unknown} [body] @returns {Promise<any>} */
export async function request(method, path, body) {
  checkPath(path);
  let response = await send(method, path, body);
  if (response.status === 401 && !path.startsWith('/api/auth/') && (await refresh())) {
    response = await send(method, path, body);
  }
  if (response.status === 401) signedOutLocally();
  if (!response.ok) throw await failure(response);
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  return type.includes('json') ? response.json() : response.text();
}

/** @param {string} path */
export const get = (path) => request('GET', path);
/** @param {string} path @param {unknown} [body] */
export const post = (path, body) => request('POST', path, body);
/** @param {string} path @param {unknown} [body] */
export const put = (path, body) => request('PUT', path, body);
/** @param {string} path @param {unknown} [body] */
export const patch = (path, body) => request('PATCH', path, body);
/** @param {string} path @param {unknown} [body] */
export const del = (path, body) => request('DELETE', path, body);

// Several calls hitting a 401 at once share one refresh (the server rotates the cookie).
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const response = await send('POST', '/api/auth/refresh');
        if (!response.ok) {
          signedOutLocally();
          return false;
        }
        token = (await response.json()).access_token;
        localStorage.setItem(HINT, '1');
        return true;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

// On load: only ask for a new access token when this browser has signed in before.
export async function resume() {
  if (!localStorage.getItem(HINT)) return false;
  return refresh();
}

/** @param {string} email @param {string} password */
export async function login(email, password) {
  const answer = await post('/api/auth/login', { email, password });
  token = answer.access_token;
  localStorage.setItem(HINT, '1');
}

/** @param {string | null} endpoint this device's push subscription, for the server to drop */
export async function logout(endpoint) {
  try {
    if (token) await post('/api/auth/logout', endpoint ? { endpoint } : undefined);
  } finally {
    signedOutLocally();
  }
}

export function signedOutLocally() {
  token = null;
  localStorage.removeItem(HINT);
}

export const signedIn = () => token !== null;

// Downloads a JSON answer as a file (export), without the token ever leaving memory.
/** @param {string} path @param {string} filename */
export async function download(path, filename) {
  const data = await get(path);
  const blob = new Blob([JSON.stringify(data, null, 2)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
