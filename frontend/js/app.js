// The app: who is signed in, hash routing (#/week, #/join/CODE), tabs, start-up and sign-out.
import * as api from './api.js';
import * as offline from './offline.js';
import * as push from './push.js';
import { h, say } from './ui.js';
import * as appointment from './views/appointment.js';
import * as auth from './views/auth.js';
import * as checkin from './views/checkin.js';
import * as exercise from './views/exercise.js';
import * as guide from './views/guide.js';
import * as invite from './views/invite.js';
import * as join from './views/join.js';
import * as library from './views/library.js';
import * as coupleMeasures from './views/couple-measures.js';
import * as measureEditor from './views/measure-editor.js';
import * as measures from './views/measures.js';
import * as notes from './views/notes.js';
import * as plan from './views/plan.js';
import * as prep from './views/prep.js';
import * as profileView from './views/profile.js';
import * as session from './views/session.js';
import * as settings from './views/settings.js';
import * as therapist from './views/therapist.js';
import * as week from './views/week.js';

export const state = { user: null, couples: [], couple: null, offlineMode: false };

// The therapist's workspace and the printouts load on first use: a partner's phone never
// downloads them at start (the service worker still precaches them).
const later = (load, name = 'render') => async (...args) => (await load())[name](...args);
const overview = later(() => import('./views/overview.js'));
const couple = later(() => import('./views/couple.js'));
const brief = later(() => import('./views/brief.js'));
const printWeek = later(() => import('./views/printouts.js'), 'week');
const printPrep = later(() => import('./views/printouts.js'), 'prep');

const ROUTES = [
  [/^signin$/, auth.signIn, { open: true }],
  [/^signup$/, auth.signUp, { open: true }],
  [/^recover$/, auth.recover, { open: true }],
  [/^join(?:\/([^/]+))?$/, join.render, { open: true }],
  [/^week$/, week.render, { role: 'partner' }],
  [/^exercise\/([^/]+)$/, exercise.render, {}],
  [/^checkin$/, checkin.render, { role: 'partner' }],
  [/^notes(?:\/(private|shared))?$/, notes.render, { role: 'partner' }],
  [/^sessions?\/([^/]+)$/, session.render, { role: 'partner' }],
  [/^invite$/, invite.render, { role: 'partner' }],
  [/^settings$/, settings.render, {}],
  [/^couples$/, overview, { role: 'therapist' }],
  [/^couple\/([^/]+)$/, couple, { role: 'therapist' }],
  [/^couple\/([^/]+)\/plan\/(\d{4}-\d{2}-\d{2})$/, plan.render, { role: 'therapist' }],
  [/^library$/, library.render, { role: 'therapist' }],
  [/^guide$/, guide.render, { open: true }],
  [/^guide\/([a-z-]+)$/, guide.renderSection, { open: true }],
  [/^therapist$/, therapist.render, { role: 'partner' }],
  [/^prep$/, prep.render, { role: 'partner' }],
  [/^profile$/, profileView.render, { role: 'therapist' }],
  [/^couple\/([^/]+)\/prep$/, appointment.renderPrep, { role: 'therapist' }],
  [/^couple\/([^/]+)\/brief(?:\/(\d{4}-\d{2}-\d{2})\/(\d{4}-\d{2}-\d{2}))?$/, brief, { role: 'therapist' }],
  [/^print\/week(?:\/(\d{4}-\d{2}-\d{2}))?$/, printWeek, { role: 'partner' }],
  [/^print\/prep$/, printPrep, { role: 'partner' }],
  [/^questionnaire\/([0-9a-f-]{36})$/, measures.renderAnswer, { role: 'partner' }],
  [/^my-measures$/, measures.renderHistory, { role: 'partner' }],
  [/^couple\/([0-9a-f-]{36})\/measures$/, coupleMeasures.render, { role: 'therapist' }],
  [/^measures\/new$/, measureEditor.render, { role: 'therapist' }],
];

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

export function go(path) {
  const target = `#/${path.replace(/^#?\/?/, '')}`;
  if (location.hash === target) render();
  else location.hash = target;
}

function home() {
  if (!state.user) return 'signin';
  if (state.user.role === 'therapist') return 'couples';
  return state.couple ? 'week' : 'join';
}

export async function loadSession() {
  const [user, mine] = await Promise.all([api.get('/api/me'), api.get('/api/couples')]);
  state.user = user;
  state.couples = mine;
  state.couple = user.role === 'partner' ? mine[0] || null : null;
  state.offlineMode = false;
  await offline.saveProfile({ user, couple: state.couple });
  await tellWorker({ type: 'plan-scope', coupleId: state.couple ? state.couple.id : null });
}

// Messages the service worker and waits (briefly) for its answer.
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

export async function signedIn() {
  await loadSession();
  push.syncOnLoad();
  replay();
}

export async function signOut({ server = true } = {}) {
  const endpoint = await push.unsubscribe();
  try {
    if (server) await api.logout(endpoint);
  } catch {
    // Offline: the server session ends at its own expiry; this device forgets everything now.
  }
  api.signedOutLocally();
  await offline.clearAll();
  await tellWorker({ type: 'logout' });
  if ('caches' in window) {
    for (const key of await caches.keys()) {
      if (!key.startsWith('tandem-shell-')) await caches.delete(key);
    }
  }
  Object.assign(state, { user: null, couples: [], couple: null, offlineMode: false });
  go('signin');
}

async function replay() {
  const outcome = await offline.flush();
  if (outcome.sent) say(`${outcome.sent} saved ${outcome.sent === 1 ? 'entry was' : 'entries were'} sent.`);
  for (const refused of outcome.refused) say(`A saved entry was not accepted: ${refused.message}`);
  if ((outcome.sent || outcome.refused.length) && location.hash === '#/week') render();
}

function renderTabs(current) {
  const nav = document.getElementById('tabs');
  const tabs = state.user ? TABS[state.user.role] || [] : [];
  nav.hidden = tabs.length === 0;
  nav.replaceChildren(
    ...tabs.map(([path, label]) =>
      h('a', {
        href: `#/${path}`,
        class: 'tab',
        'aria-current': current.split('/')[0] === path ? 'page' : null,
        text: label,
      })
    )
  );
}

let renderCount = 0;

export async function render() {
  const path = location.hash.replace(/^#\/?/, '');
  if (!path) {
    go(home());
    return;
  }
  const main = document.getElementById('main');
  const found = ROUTES.map(([pattern, view, opts]) => [path.match(pattern), view, opts]).find(([m]) => m);
  if (!found) {
    go(home());
    return;
  }
  const [match, view, opts] = found;
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
    await view(section, { params: match.slice(1).map((p) => p && decodeURIComponent(p)), state, go, render });
  } catch (error) {
    if (error.status === 401) {
      await signOut({ server: false });
      return;
    }
    section.append(h('p', { class: 'error', role: 'alert', text: error.message }));
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
  document.getElementById('connection').hidden = navigator.onLine;
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
  offline.onChange(() => document.dispatchEvent(new Event('tandem:queue')));
  showConnection();
  try {
    if (await api.resume()) await signedIn();
  } catch (error) {
    if (!error.offline) throw error;
    // No network: open what this device may show offline (the week), as the same person.
    const profile = await offline.loadProfile();
    if (profile) Object.assign(state, { user: profile.user, couple: profile.couple, offlineMode: true });
  }
  await render();
  // After the first screen: installing the worker (it fetches and caches the shell) would
  // otherwise compete with the first screen for the main thread and the network.
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {});
}

boot();
