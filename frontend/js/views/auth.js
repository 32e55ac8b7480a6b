// @ts-check
// Sign in, sign up (the recovery code is shown once, and kept in memory until the person says
// they saved it), and recovering a password with that code.
import * as api from '../api.js';
import { busy, checkbox, field, h, inputOf, title } from '../ui.js';
import { timeZoneField } from '../zones.js';

/** @param {Attrs} attrs */
function input(attrs) {
  return h('input', { class: 'input', ...attrs });
}

// --- what the sign-in screen says next (after a deletion, a password change) ---------------
/** @type {string | null} */
let notice = null;
/** @param {string} message */
export function tellSignIn(message) {
  notice = message;
}

/** @param {Shell} shell @param {{ onDone: () => unknown, submitLabel?: string }} options */
export function signInForm(shell, { onDone, submitLabel = 'Sign in' }) {
  const email = input({ type: 'email', name: 'email', autocomplete: 'username', required: true });
  const password = input({ type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: submitLabel });
  return h(
    'form',
    {
      class: 'stack',
      onsubmit: (event) => {
        event.preventDefault();
        busy(button, async () => {
          await api.login(email.value.trim(), password.value);
          await shell.signedIn();
          await onDone();
        }, errors);
      },
    },
    field('Email', email),
    field('Password', password),
    errors,
    button
  );
}

/** @param {Shell} shell @param {{ onDone: () => unknown, code?: string | null, role?: Role | null }} options */
export function signUpForm(shell, { code = null, onDone, role = null }) {
  const name = input({ name: 'display_name', autocomplete: 'nickname', required: true, maxlength: '80' });
  const email = input({ type: 'email', name: 'email', autocomplete: 'email', required: true });
  const password = input({
    type: 'password',
    name: 'password',
    autocomplete: 'new-password',
    required: true,
    minlength: '10',
  });
  const zone = timeZoneField('Your time zone', { hint: 'Your reminders and your week follow it. Type a city to search.' });
  const therapist = checkbox("I'm a therapist", { name: 'therapist' });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Create account' });
  return h(
    'form',
    {
      class: 'stack',
      onsubmit: (event) => {
        event.preventDefault();
        busy(button, async () => {
          const chosenRole = role || (inputOf(therapist).checked ? 'therapist' : 'partner');
          /** @type {Record<string, string>} */
          const body = {
            email: email.value.trim(),
            password: password.value,
            display_name: name.value.trim(),
            role: chosenRole,
            timezone: zone.read(),
          };
          if (code) body.invitation_code = code;
          /** @type {RegisteredUser} */
          const user = await api.post('/api/auth/register', body);
          await api.login(body.email, body.password);
          await shell.signedIn();
          holdRecoveryCode(user.recovery_code, { email: body.email, onDone, first: true });
        }, errors);
      },
    },
    field('Your name', name, 'How others in Tandem see you. A first name is enough.'),
    field('Email', email, 'Used only to sign in. Tandem sends no email.'),
    field('Password', password, 'At least 10 characters. A few unrelated words work well.'),
    zone.element,
    role ? null : therapist,
    errors,
    button
  );
}

// --- the recovery code: the only way back in without the operator -------------------------
// Kept in this tab's memory (never stored) until the person says they saved it: Back, another
// tab of the app or a tap on a link shows it again instead of losing it.
/** @type {{ code: string, email: string, onDone: () => unknown, first: boolean } | null} */
let pending = null;

export const recoveryCodePending = () => pending !== null;

/** @param {string} code @param {{ email?: string, onDone?: () => unknown, first?: boolean }} [options] */
export function holdRecoveryCode(code, { email = '', onDone = () => {}, first = false } = {}) {
  pending = { code, email, onDone, first };
  window.addEventListener('beforeunload', warnBeforeUnload);
  /** @type {HTMLElement | null} */
  const view = document.querySelector('#main .view');
  if (view) recoveryCodeScreen(view);
}

export function forgetRecoveryCode() {
  pending = null;
  window.removeEventListener('beforeunload', warnBeforeUnload);
}

/** @param {BeforeUnloadEvent} event */
function warnBeforeUnload(event) {
  // Closing the tab would lose the code for good: browsers then ask the person to confirm.
  event.preventDefault();
  event.returnValue = '';
}

/** @param {string} filename @param {string} text */
function downloadText(filename, text) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const link = h('a', { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** @param {HTMLElement} root */
export function recoveryCodeScreen(root) {
  if (!pending) return;
  const { code, email, onDone, first } = pending;
  const done = h('p', { class: 'hint', 'aria-live': 'polite' });
  const copy = h('button', {
    type: 'button',
    class: 'secondary',
    text: 'Copy the code',
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(code);
        done.textContent = 'Copied. Paste it into your password manager or a note you keep safe.';
      } catch {
        done.textContent = 'Copying is not allowed here: select the code and copy it, or download it.';
      }
    },
  });
  const download = h('button', {
    type: 'button',
    class: 'secondary',
    text: 'Download as text',
    onclick: () => {
      downloadText('tandem-recovery-code.txt',
        `Tandem recovery code${email ? ` for ${email}` : ''}\n\n${code}\n\n` +
        'If you forget your password, open Tandem, choose "Forgot your password?" and enter this code.\n' +
        'Keep it somewhere safe and private. It works once; Tandem then gives you a new one.\n');
      done.textContent = 'Downloaded as tandem-recovery-code.txt. Keep it somewhere private.';
    },
  });
  const saved = h('button', {
    type: 'button',
    class: 'primary',
    text: "I've saved it",
    onclick: async () => {
      forgetRecoveryCode();
      await onDone();
    },
  });
  root.replaceChildren(
    title('Your recovery code'),
    h('p', { text: first
      ? 'Write this code down, or keep it in your password manager. It is shown only this once.'
      : 'This is your new recovery code. The old one no longer works. It is shown only this once.' }),
    h('p', { class: 'code', 'data-testid': 'recovery-code', text: code }),
    h('p', {
      text:
        'If you forget your password, this code lets you set a new one. Tandem sends no email, and ' +
        'nobody else can reset it for you: your private notes stay yours.',
    }),
    h('div', { class: 'actions' }, copy, download),
    done,
    h('div', { class: 'actions' }, saved)
  );
  root.querySelector('h1')?.focus();
}

/** @type {OpenView} */
export function signIn(root, shell) {
  const said = notice;
  notice = null;
  root.append(
    title('Welcome back'),
    said ? h('p', { class: 'card notice', role: 'status', text: said }) : '',
    h('p', { class: 'lead', text: 'Your week, your reminders and your journal, in one quiet place.' }),
    signInForm(shell, { onDone: () => shell.go('') }),
    h(
      'p',
      { class: 'links' },
      h('a', { href: '#/signup', text: 'Create an account' }),
      h('a', { href: '#/recover', text: 'Forgot your password?' })
    )
  );
}

/** @type {OpenView} */
export function signUp(root, shell) {
  root.append(
    title('Create your account'),
    h('p', { class: 'lead', text: 'If your therapist or partner gave you a code, open their link or use “Join with a code”.' }),
    signUpForm(shell, { onDone: () => shell.go('') }),
    h(
      'p',
      { class: 'links' },
      h('a', { href: '#/join', text: 'Join with a code' }),
      h('a', { href: '#/signin', text: 'I already have an account' })
    )
  );
}

/** @type {OpenView} */
export function recover(root) {
  const email = input({ type: 'email', name: 'email', autocomplete: 'username', required: true });
  const code = input({ name: 'recovery_code', autocomplete: 'off', required: true, spellcheck: 'false' });
  const password = input({ type: 'password', name: 'new_password', autocomplete: 'new-password', required: true, minlength: '10' });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Set new password' });
  const form = h(
    'form',
    {
      class: 'stack',
      onsubmit: (event) => {
        event.preventDefault();
        busy(button, async () => {
          const answer = await api.post('/api/auth/recover', {
            email: email.value.trim(),
            recovery_code: code.value.trim(),
            new_password: password.value,
          });
          tellSignIn('Your password is changed. Sign in with the new one.');
          holdRecoveryCode(answer.recovery_code, {
            email: email.value.trim(),
            onDone: () => { location.hash = '#/signin'; },
          });
        }, errors);
      },
    },
    field('Email', email),
    field('Recovery code', code, 'The code you were shown when you created your account, or your latest one.'),
    field('New password', password, 'At least 10 characters.'),
    errors,
    button
  );
  root.append(title('Set a new password'), form, h('p', { class: 'links' }, h('a', { href: '#/signin', text: 'Back to sign in' })));
}
