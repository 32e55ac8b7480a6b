// Opened from the "Confirm" action of a notification: answer one joint session the partner logged.
// The id comes from the link, checked by the router (a UUID); every path built from it is encoded.
import * as api from '../api.js';
import { h, shortDate, title, uuid } from '../ui.js';
import { currentPlan, disputeForm, logsOf, queue, together } from './week.js';

export async function render(root, { params, state, go }) {
  const id = params[0];
  root.append(title('Confirm a session'));
  if (!state.couple) {
    root.append(h('p', { text: 'You are not in a couple any more, so there is nothing to answer.' }), h('a', { href: '#/week', class: 'button primary', text: 'Back to this week' }));
    return;
  }
  let log = null;
  let item = null;
  try {
    const plan = await currentPlan(state.couple.id);
    for (const candidate of (plan && plan.items) || []) {
      const found = logsOf(candidate).find((l) => l.id === id);
      if (found) [log, item] = [found, candidate];
    }
  } catch {
    // Offline: the answer can still be queued.
  }
  if (log && log.status !== 'awaiting_partner') {
    root.append(h('p', { text: 'This session has already been answered.' }), h('a', { href: '#/week', class: 'button primary', text: 'Back to this week' }));
    return;
  }
  const people = together(state.couple, state.user.id);
  const who = log ? people.names[log.logged_by] || 'Your partner' : people.partner ? people.partner.display_name : 'Your partner';
  const what = item ? `“${item.title}”` : 'a session';
  root.append(h('p', { class: 'lead', text: `${who} logged ${what} together with you${log ? ` on ${shortDate(log.done_on)}` : ''}.` }));
  const target = log || { id, done_on: null };
  const ctx = { rerender: async () => go('week') };
  const errors = h('div');
  const form = disputeForm(target, item || { id: null }, ctx, errors);
  const confirm = h('button', { type: 'button', class: 'primary', text: 'Yes, we did it' });
  confirm.addEventListener('click', () =>
    queue({ client_id: uuid(), kind: 'confirm', url: api.path`/api/sessions/${id}/confirm`, session_id: id, plan_item_id: item ? item.id : null, done_on: log ? log.done_on : null }, ctx.rerender));
  const dispute = h('button', { type: 'button', class: 'secondary', text: "It didn't happen" });
  dispute.addEventListener('click', () => {
    form.hidden = false;
    form.querySelector('textarea').focus();
  });
  root.append(h('div', { class: 'actions' }, confirm, dispute), form, errors);
}
