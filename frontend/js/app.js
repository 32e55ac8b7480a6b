// @ts-check
// The app: who is signed in, hash routing (#/week, #/join/CODE), tabs, start-up and sign-out.
import * as api from './api.js';
import * as drafts from './drafts.js';
import * as offline from './offline.js';
import * as push from './push.js';
import { h, say, title } from './ui.js';
import * as appointment from './views/appointment.js';
import * as auth from './views/auth.js';
import * as checkin from './views/checkin.js';
import * as exercise from './views/exercise.js';
import * as guide from './views/guide.js';
import * as invite from './views/invite.js';
import * as join from './views/join.js';
import * as library from './views/library.js';
import * as measures from './views/measures.js';
import * as notes from './views/notes.js';
import * as plan from './views/plan.js';
import * as prep from './views/prep.js';
import * as profileView from './views/profile.js';
import * as session from './views/session.js';
import * as settings from './views/settings.js';
import * as therapist from './views/therapist.js';
import * as week from './views/week.js';

/** @type {AppState} */
const state = { user: null, couples: [], couple: null, offlineMode: false };
// What every screen is lent, instead of importing this module back.
/** @type {Shell} */
const SHELL = { go, render, loadSession, signedIn, signOut };

// The therapist's workspace and the printouts load on first use: a partner's phone never
// downloads them at start (the service worker still precaches them).
/** @param {() => Promise<View>} load @returns {View} */
const later = (load) => async (root, ctx) => {
  let screen;
  try {
    screen = await load();
  } catch {
    throw new Error("This screen couldn't be loaded. Please check your connection and try again.");
  }
  return screen(root, ctx);
};
const overview = later(() => import('./views/overview.js').then((m) => m.render));
const couple = later(() => import('./views/couple.js').then((m) => m.render));
const brief = later(() => import('./views/brief.js').then((m) => m.render));
const coupleMeasures = later(() => import('./views/couple-measures.js').then((m) => m.render));
const measureEditor = later(() => import('./views/measure-editor.js').then((m) => m.render));
const printWeek = later(() => import('./views/printouts.js').then((m) => m.week));
const printPrep = later(() => import('./views/printouts.js').then((m) => m.prep));

// Route parameters are checked before a screen sees them: a crafted link
// (#/sessions/..%2F..%2Fleave) must never become another API path.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** @type {Record<string, (value: string) => boolean>} */
const is = {
  id: (value) => UUID.test(value),
  // A real date, a Monday.
  monday: (value) => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(value)) return false;
    const day = new Date(`${value}T00:00:00Z`);
    return !Number.isNaN(day.getTime()) && day.toISOString().slice(0, 10) === value && day.getUTCDay() === 1;
  },
  code: (value) => /^[A-Za-z0-9][A-Za-z0-9 -]{2,62}[A-Za-z0-9]$/.test(value),
  tab: (value) => value === 'private' || value === 'shared',
  section: (value) => /^[a-z-]{1,40}$/.test(value),
  // A real date.
  day: (value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && new Date(`${value}T00:00:00Z`).toISOString().slice(0, 10) === value,
};

// [pattern, screen, {open, role, params: a check per captured parameter}]
/** @type {[RegExp, View, { open?: boolean, role?: Role, params?: ((value: string) => boolean)[] }][]} */
const ROUTES = [
  [/^signin$/, auth.signIn, { open: true }],
  [/^signup$/, auth.signUp, { open: true }],
  [/^recover$/, auth.recover, { open: true }],
  [/^join(?:\/([^/]+))?$/, join.render, { open: true, params: [is.code] }],
  [/^week$/, week.render, { role: 'partner' }],
  [/^exercise\/([^/]+)$/, exercise.render, { params: [is.id] }],
  [/^checkin$/, checkin.render, { role: 'partner' }],
  [/^notes(?:\/([^/]+))?$/, notes.render, { role: 'partner', params: [is.tab] }],
  [/^sessions?\/([^/]+)$/, session.render, { role: 'partner', params: [is.id] }],
  [/^invite$/, invite.render, { role: 'partner' }],
  [/^settings$/, settings.render, {}],
  [/^couples$/, overview, { role: 'therapist' }],
  [/^couple\/([^/]+)$/, couple, { role: 'therapist', params: [is.id] }],
  [/^couple\/([^/]+)\/plan\/([^/]+)$/, plan.render, { role: 'therapist', params: [is.id, is.monday] }],
  [/^library$/, library.render, { role: 'therapist' }],
  [/^guide$/, guide.render, { open: true }],
  [/^guide\/([^/]+)$/, guide.renderSection, { open: true, params: [is.section] }],
  [/^therapist$/, therapist.render, { role: 'partner' }],
  [/^prep$/, prep.render, { role: 'partner' }],
  [/^profile$/, profileView.render, { role: 'therapist' }],
  [/^couple\/([^/]+)\/prep$/, appointment.renderPrep, { role: 'therapist', params: [is.id] }],
  [/^couple\/([^/]+)\/brief(?:\/([^/]+)\/([^/]+))?$/, brief, { role: 'therapist', params: [is.id, is.day, is.day] }],
  [/^print\/week(?:\/([^/]+))?$/, printWeek, { role: 'partner', params: [is.monday] }],
  [/^print\/prep$/, printPrep, { role: 'partner' }],
  [/^questionnaire\/([^/]+)$/, measures.renderAnswer, { role: 'partner', params: [is.id] }],
  [/^my-measures$/, measures.renderHistory, { role: 'partner' }],
  [/^couple\/([^/]+)\/measures$/, coupleMeasures, { role: 'therapist', params: [is.id] }],
  [/^measures\/new$/, measureEditor, { role: 'therapist' }],
];

// The parameters decoded and checked; null when one is malformed.
/** @param {RegExpMatchArray} match @param {((value: string) => boolean)[]} checks */
function routeParams(match, checks = []) {
  try {
    /** @type {(string | undefined)[]} */
    const params = match.slice(1).map((raw) => raw && decodeURIComponent(raw).trim());
    return params.every((value, i) => value === undefined || (checks[i] && checks[i](value))) ? params : null;
  } catch {
    return null; // not even decodable
  }
}

/** @param {HTMLElement} root */
function brokenLink(root) {
  root.append(
    title('This link doesn’t work'),
    h('p', { class: 'lead', text: 'It is incomplete or not a Tandem link. Nothing was changed.' }),
    h('a', { href: `#/${home()}`, class: 'button primary', text: 'Go to the start' })
  );
}

/** @type {Record<Role, [string, string][]>} */
const TABS = {
  partner: [
    ['week', 'This week'],
    ['checkin', 'Check-in'],
    ['notes', 'Notes'],
    ['guide', 'Guide'],
    ['settings', 'Settings'],
  ],
  therapist: [
    ['couples', 'Couples'],
    ['library', 'Exercises'],
    ['profile', 'Profile'],
    ['guide', 'Guide'],
    ['settings', 'Settings'],
  ],
};

/** @param {string} path */
function go(path) {
  const target = `#/${path.replace(/^#?\/?/, '')}`;
  if (location.hash === target) render();
  else location.hash = target;
}

function home() {
  if (!state.user) return 'signin';
  if (state.user.role === 'therapist') return 'couples';
  return state.couple ? 'week' : 'join';
}

async function loadSession() {
  /** @type {[User, Couple[]]} */
  const [user, mine] = await Promise.all([api.get('/api/me'), api.get('/api/couples')]);
  state.user = user;
  state.couples = mine;
  state.couple = user.role === 'partner' ? mine[0] || null : null;
  state.offlineMode = false;
  offline.setOwner(user.id);
  await offline.saveProfile({ user, couple: state.couple });
  await tellWorker({ type: 'plan-scope', coupleId: state.couple ? state.couple.id : null });
}

// Messages the service worker and waits (briefly) for its answer.
/** @param {{ type: string, coupleId?: Uuid | null }} message */
async function tellWorker(message) {
  if (!('serviceWorker' in navigator)) return;
  const registration = await navigator.serviceWorker.getRegistration();
  const worker = registration && (registration.active || registration.waiting || registration.installing);
  if (!worker) return;
  await new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = resolve;
    worker.postMessage(message, [channel.port2]);
    setTimeout(resolve, 2000);
  });
}

async function signedIn() {
  await loadSession();
  push.syncOnLoad();
  replay();
}

// queue: 'ask' (Sign out pressed: keep or discard unsent entries), 'keep' (the sign-in ended by
// itself), 'discard' (the account is gone). False: the person stayed.
/** @param {SignOutOptions} [options] */
async function signOut({ server = true, queue = 'ask' } = {}) {
  let keepQueue = queue === 'keep';
  if (queue === 'ask') {
    if (navigator.onLine && api.signedIn()) await offline.flush().catch(() => null);
    const waiting = (await offline.pending()).length;
    if (waiting) {
      const choice = await unsentDialog(waiting);
      if (choice === 'stay') return false;
      keepQueue = choice === 'keep';
    }
  }
  const endpoint = await push.unsubscribe();
  try {
    if (server) await api.logout(endpoint);
  } catch {
    // Offline: the server session ends at its own expiry; this device forgets everything now.
  }
  api.signedOutLocally();
  drafts.clear();
  auth.forgetRecoveryCode();
  await offline.forget({ keepQueue });
  await tellWorker({ type: 'logout' });
  if ('caches' in window) {
    for (const key of await caches.keys()) {
      if (!key.startsWith('tandem-shell-')) await caches.delete(key);
    }
  }
  Object.assign(state, { user: null, couples: [], couple: null, offlineMode: false });
  go('signin');
  return true;
}

/** @param {number} count @returns {Promise<'stay' | 'keep' | 'discard'>} */
function unsentDialog(count) {
  const them = count === 1 ? 'it' : 'them';
  return new Promise((resolve) => {
    /** @param {string} value @returns {() => void} */
    const choose = (value) => () => dialog.close(value);
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': 'unsent-title' },
      h('h2', { id: 'unsent-title', text: 'Not sent yet' }),
      h('p', { text: `${count === 1 ? 'One session or answer' : `${count} sessions or answers`} you saved on this phone did not reach Tandem yet. Keep ${them} here, to be sent when you next sign in, or discard ${them}.` }),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', text: 'Stay signed in', onclick: choose('stay') }),
        h('button', { type: 'button', class: 'danger', text: 'Discard and sign out', onclick: choose('discard') }),
        h('button', { type: 'button', class: 'primary', text: 'Keep and sign out', onclick: choose('keep') })));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(/** @type {'keep' | 'discard'} */ (dialog.returnValue) || 'stay');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// Expired or ended elsewhere: what this person queued stays theirs.
async function signInEnded() {
  const waiting = (await offline.pending().catch(() => [])).length;
  await signOut({ server: false, queue: 'keep' });
  say(waiting
    ? `Please sign in again. ${waiting} saved ${waiting === 1 ? 'entry' : 'entries'} will be sent once you have.`
    : 'Please sign in again.');
}

function replay() {
  return offline.flush().catch(() => null);
}

/** @param {ReplayOutcome} [outcome] */
function reportReplay(outcome) {
  if (outcome && outcome.signedOut && state.user && !state.offlineMode) {
    signInEnded();
    return;
  }
  if (!outcome || outcome.interactive) return;
  if (outcome.sent) say(`${outcome.sent} saved ${outcome.sent === 1 ? 'entry was' : 'entries were'} sent.`);
  if (outcome.refused.length) say(outcome.refused.map((r) => r.message).join(' '));
  if ((outcome.sent || outcome.refused.length) && location.hash === '#/week') render();
}

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

// Screens that belong under a tab without being its page (aria-current "true": within it): a
// couple's plan, brief, questionnaires and preparation are the Couples tab's; what a partner
// opens from the week is the week's; an exercise is the week's or the library's.
/** @type {Record<string, string[]>} */
const UNDER = {
  couple: ['couples'],
  measures: ['couples'],
  exercise: ['week', 'library'],
  session: ['week'],
  sessions: ['week'],
  questionnaire: ['week'],
  'my-measures': ['week'],
  prep: ['week'],
  therapist: ['week'],
  print: ['week'],
};

/** @param {string} current */
function renderTabs(current) {
  const nav = byId('tabs');
  const tabs = state.user ? TABS[state.user.role] || [] : [];
  const first = current.split('/')[0];
  nav.hidden = tabs.length === 0;
  nav.replaceChildren(
    ...tabs.map(([path, label]) =>
      h('a', {
        href: `#/${path}`,
        class: 'tab',
        'aria-current': first === path ? 'page' : (UNDER[first] || []).includes(path) ? 'true' : null,
        text: label,
      })
    )
  );
}

let renderCount = 0;

async function render() {
  const path = location.hash.replace(/^#\/?/, '');
  if (!path) {
    go(home());
    return;
  }
  const main = byId('main');
  if (auth.recoveryCodePending()) {
    // Nothing else until the person has saved their new recovery code (Back included).
    byId('tabs').hidden = true;
    const held = h('div', { class: 'view' });
    main.replaceChildren(held);
    auth.recoveryCodeScreen(held);
    return;
  }
  const found = ROUTES.find(([pattern]) => pattern.test(path));
  const match = found && path.match(found[0]);
  if (!found || !match) {
    go(home());
    return;
  }
  const [, view, opts] = found;
  const params = routeParams(match, opts.params);
  if (!opts.open && !state.user) {
    go('signin');
    return;
  }
  if (opts.role && state.user && state.user.role !== opts.role) {
    go(home());
    return;
  }
  renderTabs(path);
  const section = h('div', { class: 'view' });
  main.replaceChildren(section);
  const mine = ++renderCount;
  try {
    // The checks above are what lets a screen behind sign-in count on `state.user`.
    if (params) await view(section, { params, state: /** @type {SignedInState} */ (state), ...SHELL });
    else brokenLink(section);
  } catch (error) {
    if (api.statusOf(error) === 401) {
      await signInEnded();
      return;
    }
    section.append(h('p', { class: 'error', role: 'alert', text: api.messageOf(error) }));
  }
  if (mine === renderCount) {
    const heading = section.querySelector('h1');
    if (heading && document.activeElement === document.body) {
      heading.tabIndex = -1;
      heading.focus({ preventScroll: true });
    }
  }
}

function showConnection() {
  byId('connection').hidden = navigator.onLine;
}

async function backOnline() {
  showConnection();
  if (state.offlineMode) {
    try {
      if (await api.resume()) await signedIn();
    } catch {
      return;
    }
    render();
    return;
  }
  if (api.signedIn()) replay();
}

async function boot() {
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.addEventListener('message', (event) => {
      if (event.data && event.data.type === 'navigate') {
        const url = new URL(event.data.url, location.origin);
        if (url.origin === location.origin) location.hash = url.hash;
      }
    });
  }
  push.listen();
  window.addEventListener('online', backOnline);
  window.addEventListener('offline', showConnection);
  window.addEventListener('hashchange', render);
  offline.onChange((outcome) => {
    reportReplay(outcome);
    document.dispatchEvent(new Event('tandem:queue'));
  });
  showConnection();
  try {
    if (await api.resume()) await signedIn();
  } catch (error) {
    if (!api.isOffline(error)) throw error;
    // No network: open what this device may show offline (the week), as the same person.
    const profile = await offline.loadProfile();
    if (profile) {
      Object.assign(state, { user: profile.user, couple: profile.couple, offlineMode: true });
      offline.setOwner(profile.user.id);
    }
  }
  await render();
  // After the first screen: installing the worker (it fetches and caches the shell) would
  // otherwise compete with the first screen for the main thread and the network.
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
}

boot();
