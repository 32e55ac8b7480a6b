// Sign in, sign up (the recovery code is shown once), and recovering a password with that code.
import * as api from '../api.js';
import { signedIn } from '../app.js';
import { busy, checkbox, field, h, title } from '../ui.js';

const zone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

function input(attrs) {
  return h('input', { class: 'input', ...attrs });
}

export function signInForm({ onDone, submitLabel = 'Sign in' } = {}) {
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
          await signedIn();
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

export function signUpForm({ code = null, onDone, role = null } = {}) {
  const name = input({ name: 'display_name', autocomplete: 'nickname', required: true, maxlength: '80' });
  const email = input({ type: 'email', name: 'email', autocomplete: 'email', required: true });
  const password = input({
    type: 'password',
    name: 'new-password',
    autocomplete: 'new-password',
    required: true,
    minlength: '10',
  });
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
          const chosenRole = role || (therapist.querySelector('input').checked ? 'therapist' : 'partner');
          const body = {
            email: email.value.trim(),
            password: password.value,
            display_name: name.value.trim(),
            role: chosenRole,
            timezone: zone(),
          };
          if (code) body.invitation_code = code;
          const user = await api.post('/api/auth/register', body);
          await api.login(body.email, body.password);
          await signedIn();
          showRecoveryCode(user.recovery_code, onDone);
        }, errors);
      },
    },
    field('Your name', name, 'How others in Tandem see you. A first name is enough.'),
    field('Email', email, 'Used only to sign in. Tandem sends no email.'),
    field('Password', password, 'At least 10 characters. A few unrelated words work well.'),
    role ? null : therapist,
    errors,
    button
  );
}

// The recovery code is the only way back in without the operator: say it plainly, once.
function showRecoveryCode(code, onDone) {
  const main = document.querySelector('#main .view');
  const copy = h('button', {
    type: 'button',
    class: 'secondary',
    text: 'Copy the code',
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(code);
        copy.textContent = 'Copied';
      } catch {
        copy.textContent = 'Select the code and copy it';
      }
    },
  });
  main.replaceChildren(
    title('Your recovery code'),
    h('p', { text: 'Write this code down, or keep it in your password manager. It is shown only this once.' }),
    h('p', { class: 'code', 'data-testid': 'recovery-code', text: code }),
    h('p', {
      text:
        'If you forget your password, this code lets you set a new one. Tandem sends no email, and ' +
        'nobody else can reset it for you: your private notes stay yours.',
    }),
    h('div', { class: 'actions' }, copy, h('button', { type: 'button', class: 'primary', text: "I've saved it", onclick: onDone }))
  );
  main.querySelector('h1').focus();
}

export function signIn(root, { go }) {
  root.append(
    title('Welcome back'),
    h('p', { class: 'lead', text: 'Your week, your reminders and your journal, in one quiet place.' }),
    signInForm({ onDone: () => go('') }),
    h(
      'p',
      { class: 'links' },
      h('a', { href: '#/signup', text: 'Create an account' }),
      h('a', { href: '#/recover', text: 'Forgot your password?' })
    )
  );
}

export function signUp(root, { go }) {
  root.append(
    title('Create your account'),
    h('p', { class: 'lead', text: 'If your therapist or partner gave you a code, open their link or use “Join with a code”.' }),
    signUpForm({ onDone: () => go('') }),
    h(
      'p',
      { class: 'links' },
      h('a', { href: '#/join', text: 'Join with a code' }),
      h('a', { href: '#/signin', text: 'I already have an account' })
    )
  );
}

export function recover(root) {
  const email = input({ type: 'email', autocomplete: 'username', required: true });
  const code = input({ autocomplete: 'off', required: true, spellcheck: 'false' });
  const password = input({ type: 'password', autocomplete: 'new-password', required: true, minlength: '10' });
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
          form.replaceWith(
            h('div', { class: 'stack' },
              h('p', { text: 'If the email and code matched, your password is changed. Your new recovery code (the old one no longer works):' }),
              h('p', { class: 'code', text: answer.recovery_code }),
              h('a', { href: '#/signin', class: 'button primary', text: 'Sign in' })
            )
          );
        }, errors);
      },
    },
    field('Email', email),
    field('Recovery code', code, 'The code you were shown when you created your account.'),
    field('New password', password, 'At least 10 characters.'),
    errors,
    button
  );
  root.append(title('Set a new password'), form, h('p', { class: 'links' }, h('a', { href: '#/signin', text: 'Back to sign in' })));
}
