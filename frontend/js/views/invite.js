// @ts-check
// Invitations: make a code (the link carries it in the fragment, never the query), list, revoke.
import * as api from '../api.js';
import { busy, dateTime, empty, h, say, title } from '../ui.js';

/** @type {Record<Role, string>} */
const ROLE = { partner: 'a partner', therapist: 'a therapist' };

/** @param {Uuid} coupleId @param {Role[]} roles */
export function invitationsPanel(coupleId, roles) {
  const created = h('div', { class: 'created', 'aria-live': 'polite' });
  const list = h('ul', { class: 'plain' });
  const errors = h('div');
  async function load() {
    /** @type {Invitation[]} */
    const open = await api.get(`/api/couples/${coupleId}/invitations`);
    list.replaceChildren(...(open.length ? open.map((inv) => {
      const revoke = h('button', { type: 'button', class: 'link', text: 'Revoke' });
      revoke.addEventListener('click', () => busy(revoke, async () => {
        await api.del(`/api/invitations/${inv.id}`);
        say('Invitation revoked.');
        await load();
      }, errors));
      return h('li', {}, h('span', { text: `For ${ROLE[inv.role] || inv.role}, until ${dateTime(inv.expires_at)}` }), revoke);
    }) : [h('li', {}, empty('No open invitations.'))]));
  }
  const buttons = roles.map((role) => {
    const button = h('button', { type: 'button', class: 'secondary', text: `Invite ${ROLE[role]}` });
    button.addEventListener('click', () => busy(button, async () => {
      /** @type {Invitation & { code: string }} */
      const inv = await api.post(`/api/couples/${coupleId}/invitations`, { role });
      const link = `${location.origin}/#/join/${encodeURIComponent(inv.code)}`;
      const copy = h('button', { type: 'button', class: 'secondary', text: 'Copy link' });
      copy.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText(link);
          say('Link copied.');
        } catch {
          say('Select the link and copy it.');
        }
      });
      created.replaceChildren(h('div', { class: 'card invite-code' },
        h('p', { text: `Give this code to ${ROLE[role]}. It works once, for 7 days.` }),
        h('p', { class: 'code', 'data-testid': 'invitation-code', text: inv.code }),
        h('p', { class: 'hint' }, 'Or send the link: ', h('span', { class: 'break', 'data-testid': 'invitation-link', text: link })),
        copy));
      await load();
    }, errors));
    return button;
  });
  const panel = h('div', { class: 'stack' }, h('div', { class: 'actions' }, buttons), errors, created, h('h3', { text: 'Open invitations' }), list);
  load().catch((e) => errors.replaceChildren(h('p', { class: 'hint', text: api.messageOf(e) })));
  return panel;
}

/** @type {View} */
export async function render(root, { state }) {
  root.append(title('Invite'));
  if (!state.couple) {
    root.append(empty('Join or create your couple first.'));
    return;
  }
  root.append(h('p', { class: 'lead', text: 'Invite your partner, or a therapist you have chosen. Each code works once.' }),
    invitationsPanel(state.couple.id, ['partner', 'therapist']));
}
