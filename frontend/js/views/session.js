// @ts-check
// Opened from a notification's "Confirm": answer one joint session the partner logged. The id is
// checked by the router (a UUID) and encoded in every path.
import { h, shortDate, title } from '../ui.js';
import { answerBlock, currentPlan, logsOf, together } from './week.js';

/** @type {View} */
export async function render(root, { params, state, go }) {
  const id = /** @type {Uuid} */ (params[0]);
  root.append(title('Confirm a session'));
  const back = h('a', { href: '#/week', class: 'button primary', text: 'Back to this week' });
  if (!state.couple) {
    root.append(h('p', { text: 'You are not in a couple any more: there is nothing to answer.' }), back);
    return;
  }
  /** @type {SessionLog | null} */
  let log = null;
  /** @type {PlanItem | null} */
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
    root.append(h('p', { text: 'This session has already been answered.' }), back);
    return;
  }
  const people = together(state.couple, state.user.id);
  const who = (log && people.names[log.logged_by]) || people.partnerName;
  const lead = `${who[0].toUpperCase()}${who.slice(1)} logged ${item ? `“${item.title}”` : 'a session'} together with you${log ? ` on ${shortDate(log.done_on)}` : ''}.`;
  const errors = h('div');
  root.append(answerBlock(log || { id }, item, { ...people, rerender: async () => go('week') }, errors, lead), errors);
}
