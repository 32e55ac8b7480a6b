// Joining a couple with an invitation code (links carry it in the fragment: #/join/CODE).
import * as api from '../api.js';
import { loadSession, signOut } from '../app.js';
import { busy, field, h, title } from '../ui.js';
import { signInForm, signUpForm } from './auth.js';
import { profileCard } from './therapist.js';

async function preview(code) {
  try {
    // POST keeps the code out of URLs, where it could reach a log (it came in the fragment).
    return await api.post('/api/invitations/preview', { code });
  } catch {
    return null; // the preview is a courtesy; accepting says whether the code is good
  }
}

export async function render(root, { params, state, go }) {
  const code = (params[0] || '').trim();
  root.append(title('Join with a code'));
  if (!code) {
    const input = h('input', { class: 'input', autocomplete: 'off', spellcheck: 'false', required: true });
    root.append(
      h('p', { class: 'lead', text: 'Your therapist or your partner can give you an invitation code.' }),
      h('form', {
        class: 'stack',
        onsubmit: (event) => {
          event.preventDefault();
          if (input.value.trim()) go(`join/${encodeURIComponent(input.value.trim())}`);
        },
      }, field('Invitation code', input), h('button', { type: 'submit', class: 'primary', text: 'Continue' })),
      state.user
        ? h('p', { class: 'links' }, h('button', { type: 'button', class: 'link', text: 'Sign out', onclick: () => signOut() }))
        : h('p', { class: 'links' }, h('a', { href: '#/signin', text: 'Sign in' }))
    );
    return;
  }
  const offer = await preview(code);
  if (offer) {
    root.append(h('p', { class: 'lead', text: offer.role === 'therapist' ? "You're invited to join a couple as their therapist." : "You're invited to join as a partner." }));
    const profile = profileCard(offer.therapist);
    if (profile) root.append(profile);
  }
  const errors = h('div');
  const accepted = async () => {
    await loadSession();
    go('');
  };
  if (state.user) {
    const button = h('button', { type: 'button', class: 'primary', text: 'Join' });
    button.addEventListener('click', () =>
      busy(button, async () => {
        await api.post('/api/invitations/accept', { code });
        await accepted();
      }, errors)
    );
    root.append(h('p', { text: `Signed in as ${state.user.display_name}.` }), errors, button);
    return;
  }
  const haveAccount = h('details', { class: 'card' },
    h('summary', { text: 'I already have an account' }),
    signInForm({
      submitLabel: 'Sign in and join',
      onDone: async () => {
        await api.post('/api/invitations/accept', { code });
        await accepted();
      },
    })
  );
  root.append(
    h('h2', { text: 'New to Tandem' }),
    signUpForm({ code, role: offer ? offer.role : null, onDone: () => go('') }),
    haveAccount
  );
}
