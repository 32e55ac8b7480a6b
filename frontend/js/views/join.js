// @ts-check
// Joining a couple with an invitation code (links carry it in the fragment: #/join/CODE).
// The code is checked first, so a wrong or used one is said at once, before any form is filled.
import * as api from '../api.js';
import { busy, field, FieldProblem, h, showFieldError, title } from '../ui.js';
import { signInForm, signUpForm } from './auth.js';
import { profileCard } from './therapist.js';

const BAD_CODE =
  'This code doesn’t work: it may be mistyped, already used, withdrawn or more than 7 days old. ' +
  'Ask the person who invited you for a new one.';

/** @type {{ code: string, offer: InvitationPreview } | null} */
let checked = null; // the last code checked, so the next screen needn't ask again

// {offer} for a good code, {bad: true} for one the server refused, {unknown: message} when it
// could not be checked (offline, too many attempts): accepting will say.
/** @param {string} code @returns {Promise<{ offer?: InvitationPreview, bad?: true, unknown?: string }>} */
async function check(code) {
  if (checked && checked.code === code) return { offer: checked.offer };
  try {
    // POST keeps the code out of URLs, where it could reach a log (it came in the fragment).
    /** @type {InvitationPreview} */
    const offer = await api.post('/api/invitations/preview', { code });
    checked = { code, offer };
    return { offer };
  } catch (error) {
    const status = api.statusOf(error);
    if (status === 404 || status === 422) return { bad: true };
    return { unknown: api.messageOf(error) };
  }
}

/** @param {{ go: Shell['go'], value?: string, problem?: string | null }} options */
function codeForm({ go, value = '', problem = null }) {
  const input = h('input', { class: 'input', name: 'code', autocomplete: 'off', spellcheck: 'false', required: true, value });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Check the code' });
  const form = h('form', {
    class: 'stack',
    onsubmit: (event) => {
      event.preventDefault();
      busy(button, async () => {
        const code = input.value.trim();
        if (!code) throw new FieldProblem(input, 'Please enter the code you were given.');
        const found = await check(code);
        if (found.bad) throw new FieldProblem(input, BAD_CODE);
        if (found.unknown) throw new Error(found.unknown);
        go(`join/${encodeURIComponent(code)}`);
      }, errors);
    },
  }, field('Invitation code', input, 'Letters and numbers, as you were given them.'), errors, button);
  // The link's code was checked already: said as soon as the screen opens.
  if (problem) showFieldError(input, problem);
  return form;
}

/** @param {ViewContext<AppState>} ctx */
function otherWay({ state, signOut }) {
  return state.user
    ? h('p', { class: 'links' }, h('button', { type: 'button', class: 'link', text: 'Sign out', onclick: () => signOut() }))
    : h('p', { class: 'links' }, h('a', { href: '#/signin', text: 'Sign in' }));
}

/** @type {OpenView} */
export async function render(root, ctx) {
  const { params, state, go } = ctx;
  const code = (params[0] || '').trim();
  root.append(title('Join with a code'));
  if (!code) {
    root.append(h('p', { class: 'lead', text: 'Your therapist or your partner can give you an invitation code.' }), codeForm({ go }), otherWay(ctx));
    return;
  }
  const found = await check(code);
  if (found.bad) {
    root.append(codeForm({ go, value: code, problem: BAD_CODE }), otherWay(ctx));
    return;
  }
  const offer = found.offer || null;
  if (offer) {
    root.append(h('p', { class: 'lead', text: offer.role === 'therapist' ? "You're invited to join a couple as their therapist." : "You're invited to join as a partner." }));
    const profile = profileCard(offer.therapist);
    if (profile) root.append(profile);
  } else {
    root.append(h('p', { class: 'hint', text: `The code could not be checked just now (${found.unknown}). You can still go on; joining will check it.` }));
  }
  const errors = h('div');
  const accepted = async () => {
    checked = null;
    await ctx.loadSession();
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
    signInForm(ctx, {
      submitLabel: 'Sign in and join',
      onDone: async () => {
        await api.post('/api/invitations/accept', { code });
        await accepted();
      },
    })
  );
  root.append(
    h('h2', { text: 'New to Tandem' }),
    signUpForm(ctx, { code, role: offer ? offer.role : null, onDone: () => { checked = null; go(''); } }),
    haveAccount
  );
}
