// The only module that calls fetch. The access token lives in this module's memory only;
// the refresh token is an HttpOnly cookie the page never sees.
let token = null;
let refreshing = null;
const HINT = 'tandem.signedIn'; // "a refresh cookie may exist": no secret, avoids a 401 on first visits

export class ApiError extends Error {
  constructor(status, message, detail) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
  get offline() {
    return this.status === 0;
  }
}

const MESSAGES = {
  0: "You're offline. This needs the network; please try again when you're connected.",
  400: 'That request could not be understood.',
  401: 'Please sign in again.',
  403: "Your role in Tandem can't do that.",
  404: "That isn't here (any more).",
  409: "That doesn't fit what's happened in the meantime. The screen has been refreshed.",
  413: 'That is too long to send.',
  422: 'Please check what you entered.',
  429: 'Too many attempts. Please wait a moment and try again.',
};

function describe(status, detail) {
  if (typeof detail === 'string' && detail) return detail;
  if (Array.isArray(detail) && detail.length) {
    return detail
      .map((e) => {
        const field = (e.loc || []).filter((p) => p !== 'body').join(' ');
        const msg = String(e.msg || '').replace(/^Value error, /, '');
        return field ? `${field.replace(/_/g, ' ')}: ${msg}` : msg;
      })
      .join('. ');
  }
  if (status >= 500) return 'Something went wrong on the server. Please try again in a moment.';
  return MESSAGES[status] || `Unexpected answer (${status}).`;
}

async function send(method, path, body) {
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

async function failure(response) {
  let detail = null;
  try {
    detail = (await response.json()).detail;
  } catch {
    detail = null;
  }
  return new ApiError(response.status, describe(response.status, detail), detail);
}

// path`/api/sessions/${id}/confirm`: every value encoded as one path segment.
export function path(strings, ...values) {
  return strings.reduce((out, text, i) => out + text + (i < values.length ? encodeURIComponent(String(values[i])) : ''), '');
}

// Last defence against a path built from a crafted link: /api/ only, no dot segment or encoded
// separator that could climb to another route.
const UNSAFE_PATH = /(^|\/)\.{1,2}(\/|$)|%2e|%2f|%5c|\\/i;
function checkPath(target) {
  const pathname = target.split(/[?#]/)[0];
  if (!pathname.startsWith('/api/') || UNSAFE_PATH.test(pathname)) {
    throw new ApiError(404, MESSAGES[404]);
  }
}

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

export const get = (path) => request('GET', path);
export const post = (path, body) => request('POST', path, body);
export const put = (path, body) => request('PUT', path, body);
export const patch = (path, body) => request('PATCH', path, body);
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

export async function login(email, password) {
  const answer = await post('/api/auth/login', { email, password });
  token = answer.access_token;
  localStorage.setItem(HINT, '1');
}

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
