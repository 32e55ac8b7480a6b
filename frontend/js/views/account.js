// @ts-check
// Settings about the account itself: password, recovery code, signed-in devices, who read my
// shared entries, and deleting the account.
import * as api from '../api.js';
import { ago, busy, confirmDialog, dateTime, empty, field, FieldProblem, h, passwordDialog, say } from '../ui.js';
import { holdRecoveryCode, tellSignIn } from './auth.js';
import { section } from './notifications.js';

/** @param {SignedInState} state */
export function passwordSection(state) {
  const current = h('input', { type: 'password', class: 'input', name: 'current_password', autocomplete: 'current-password', required: true });
  const next = h('input', { type: 'password', class: 'input', name: 'new_password', autocomplete: 'new-password', required: true, minlength: '10' });
  const again = h('input', { type: 'password', class: 'input', name: 'again', autocomplete: 'new-password', required: true });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Change password' });
  const form = h('form', {
    class: 'stack',
    onsubmit: (event) => {
      event.preventDefault();
      busy(button, async () => {
        if (next.value !== again.value) throw new FieldProblem(again, 'The two new passwords are not the same.');
        await api.post('/api/me/password', { current_password: current.value, new_password: next.value });
        form.reset();
        say('Password changed. Your other devices were signed out.');
      }, errors);
    },
  },
  // Lets password managers tie the new password to this account.
  h('input', { type: 'email', name: 'username', autocomplete: 'username', value: state.user.email, hidden: true, readonly: true }),
  field('Current password', current),
  field('New password', next, 'At least 10 characters. A few unrelated words work well.'),
  field('New password again', again),
  errors, button);

  const fresh = h('button', { type: 'button', class: 'secondary', text: 'Make a new recovery code' });
  fresh.addEventListener('click', async () => {
    const answer = await passwordDialog(
      'Make a new recovery code?',
      ['Your current recovery code stops working at once. The new one is shown once: keep it somewhere safe.'],
      'Make a new code',
      (password) => api.post('/api/me/recovery-code', password ? { password } : {})
    );
    if (answer && answer.recovery_code) {
      holdRecoveryCode(answer.recovery_code, { email: state.user.email, onDone: () => { location.hash = '#/settings'; } });
    }
  });
  return section('Password and recovery code', form,
    h('p', { class: 'hint', text: 'The recovery code lets you set a new password if you forget yours. Lost it? Make a new one here while you are signed in.' }),
    fresh);
}

/** @param {SignIn} s */
function deviceLine(s) {
  const name = s.device || 'A browser Tandem doesn’t recognise';
  return `${name} · ${s.current ? 'this device' : `last active ${ago(s.last_used_at)}`}`;
}

/** @param {Shell} shell */
export async function devicesSection(shell) {
  const list = h('ul', { class: 'plain devices', 'data-testid': 'devices' });
  const errors = h('div');
  async function load() {
    /** @type {SignIn[]} */
    const sessions = await api.get('/api/me/sessions');
    list.replaceChildren(...sessions.map((s) => {
      const out = h('button', { type: 'button', class: 'link', text: 'Sign out', 'aria-label': `Sign out ${s.device || 'that device'}` });
      out.addEventListener('click', () => busy(out, async () => {
        await api.del(api.path`/api/me/sessions/${s.id}`);
        say('That device is signed out.');
        await load();
      }, errors));
      return h('li', { class: s.current ? 'current' : null },
        h('span', {},
          h('span', { class: 'device-name', text: deviceLine(s) }),
          h('span', { class: 'hint block', text: `Signed in ${dateTime(s.created_at)}` })),
        s.current ? null : out);
    }));
  }
  await load().catch((e) => errors.replaceChildren(h('p', { class: 'hint', text: api.messageOf(e) })));
  const everywhere = h('button', { type: 'button', class: 'secondary', text: 'Sign out everywhere' });
  everywhere.addEventListener('click', async () => {
    if (!(await confirmDialog('Sign out everywhere?', 'Every device, this one too, will need the password again.', 'Sign out everywhere'))) return;
    await busy(everywhere, async () => {
      await api.del('/api/me/sessions');
      tellSignIn('You are signed out on every device.');
      await shell.signOut({ server: false });
    }, errors);
  });
  return section('Signed-in devices', list, errors, everywhere);
}

// What a therapist's read was of (the event's kind and where it was shown; never the text).
/** @type {Record<string, string>} */
const JOURNAL = {
  notes: 'your shared notes',
  checkins: 'your shared check-ins',
  timeline: 'your shared notes and check-ins, in your couple’s timeline',
  'session brief': 'your shared notes and check-ins, preparing a session',
};
/** @type {Record<string, string>} */
const READ = {
  'prep.read_by_therapist': 'what you shared to prepare your appointment',
  'dispute_reason.read_by_therapist': 'why you said a session didn’t happen',
  'measures.read_by_therapist': 'your questionnaire answers',
  // Worded like any questionnaire read: a partner is never told an answer was flagged.
  'measures.risk_read_by_therapist': 'your questionnaire answers',
};
/** @param {AccessEvent} e */
const readOf = (e) => (e.action === 'journal.read_by_therapist' ? JOURNAL[e.what || ''] : READ[e.action]) || 'your shared entries';

/** @param {SignedInState} state */
export async function accessLogSection(state) {
  const body = h('div', { 'data-testid': 'access-log' });
  try {
    const events = /** @type {AccessEvent[]} */ (await api.get('/api/me/access-log')).filter((e) => e.action.endsWith('read_by_therapist'));
    const couples = Object.fromEntries((state.couples || []).map((c) => [c.id, c.label]));
    body.replaceChildren(events.length
      ? h('ul', { class: 'plain access-log' }, events.map((e) => h('li', {},
        h('span', {},
          h('strong', { text: e.actor_display_name || 'A former therapist' }),
          ` read ${readOf(e)}`,
          couples[e.couple_id || ''] && state.user.role === 'therapist' ? ` (${couples[e.couple_id || '']})` : ''),
        h('span', { class: 'hint', text: dateTime(e.at) }))))
      : empty('Nobody has read your shared entries yet.'));
  } catch (error) {
    body.replaceChildren(h('p', { class: 'hint', text: api.messageOf(error) }));
  }
  return section('Who read your shared entries',
    h('p', { class: 'hint', text: 'Each time a therapist opens what you shared with them, it is noted here: who, what kind of entry, and when. Never what it said. Your partner reading what you shared with them is not listed.' }),
    body);
}

/** @param {ViewContext} ctx */
export function deleteAccountButton({ state, signOut }) {
  const partner = state.couple && (state.couple.members || []).find((m) => m.role === 'partner' && m.user_id !== state.user.id);
  const remove = h('button', { type: 'button', class: 'danger', text: 'Delete my account' });
  remove.addEventListener('click', async () => {
    const lost = state.user.role === 'therapist'
      ? 'Your account, your profile and your own exercises are deleted at once. This cannot be undone.'
      : 'Your account, every note and check-in you wrote (private and shared), your preparation for appointments and your own logs are deleted at once. This cannot be undone.';
    const kept = state.user.role === 'therapist'
      ? 'The plans you wrote stay with your couples, and their own entries stay theirs.'
      : `${partner ? `${partner.display_name}’s` : 'Your partner’s'} own notes and check-ins stay theirs. The couple’s plans and the sessions you did together stay in their history, shown as done by “Former member”.`;
    const done = await passwordDialog('Delete your account?',
      [h('p', { text: lost }), h('p', { text: kept }), h('p', { class: 'hint', text: 'To keep a copy, download your data first. Enter your password to confirm.' })],
      'Delete my account',
      (password) => api.del('/api/me', password ? { password } : {}),
      { danger: true });
    if (done === null) return;
    tellSignIn('Your account has been deleted, with everything you wrote. You are signed out.');
    await signOut({ server: false, queue: 'discard' });
  });
  return remove;
}
