// Opened from the "Confirm" action of a notification: answer one joint session the partner logged.
import { h, title, uuid } from '../ui.js';
import { currentPlan, logsOf, queue } from './week.js';

export async function render(root, { params, state, go }) {
  const id = params[0];
  root.append(title('Confirm a session'));
  let log = null;
  let item = null;
  try {
    const plan = state.couple ? await currentPlan(state.couple.id) : null;
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
  const partner = (state.couple.members || []).find((m) => m.role === 'partner' && m.user_id !== state.user.id);
  const who = partner ? partner.display_name : 'Your partner';
  root.append(h('p', { class: 'lead', text: item ? `${who} logged “${item.title}” together with you.` : `${who} logged a session together with you.` }));
  const answer = (kind) => async () => {
    await queue({ client_id: uuid(), kind, url: `/api/sessions/${id}/${kind}`, session_id: id, plan_item_id: item ? item.id : null }, async () => {});
    go('week');
  };
  root.append(h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'primary', text: 'Yes, we did it', onclick: answer('confirm') }),
    h('button', { type: 'button', class: 'secondary', text: "It didn't happen", onclick: answer('dispute') })));
}
