// This week, for a partner: each exercise with its progress, logging a session, confirming or
// disputing what the other partner logged. Logs and confirmations go through the offline queue,
// so they work without network and are sent exactly once (the server dedupes by client_id).
import * as api from '../api.js';
import * as offline from '../offline.js';
import { appointmentCard } from './appointment.js';
import { dueCard } from './measures.js';
import { busy, empty, h, mondayOf, say, shortDate, title, todayIn, uuid, weekLabel } from '../ui.js';

export async function currentPlan(coupleId) {
  try {
    return await api.get(`/api/couples/${coupleId}/plans/current`);
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

// This week's session logs of an item, whatever the plan answer calls them.
export function logsOf(item) {
  const list = item.sessions || item.logs || item.session_logs;
  if (Array.isArray(list)) return list;
  const awaiting = item.progress && item.progress.awaiting_partner;
  return Array.isArray(awaiting) ? awaiting : [];
}

function awaitingCount(item) {
  const awaiting = item.progress && item.progress.awaiting_partner;
  if (Array.isArray(awaiting)) return awaiting.length;
  return Number(awaiting) || 0;
}

const MODE = { joint: 'Together', individual: 'On your own' };

export async function queue(entry, rerender) {
  await offline.enqueue(entry);
  const outcome = await offline.flush();
  if (outcome.refused.length) say(outcome.refused[0].message);
  else if (!outcome.sent) say("Saved on this phone. It will be sent when you're back online.");
  await rerender();
}

function pendingNote(entries) {
  if (!entries.length) return null;
  const n = entries.length;
  return h('p', { class: 'pending', role: 'note' },
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    `${n} ${n === 1 ? 'entry is' : 'entries are'} saved on this phone, waiting to be sent.`
  );
}

function itemCard(item, ctx) {
  const { me, names, partnerName, pending, rerender, today } = ctx;
  const assigned = item.mode === 'joint' || (item.assignee_ids || []).includes(me);
  const progress = item.progress || { done: 0, target: item.times_per_week };
  const mine = pending.filter((p) => p.plan_item_id === item.id);
  const errors = h('div');
  const parts = [];

  for (const log of logsOf(item).filter((l) => l.status === 'awaiting_partner')) {
    const queued = pending.some((p) => p.session_id === log.id);
    if (log.logged_by === me) {
      const withdraw = h('button', { type: 'button', class: 'link', text: 'Withdraw' });
      withdraw.addEventListener('click', () =>
        busy(withdraw, async () => {
          await api.del(`/api/sessions/${log.id}`);
          await rerender();
        }, errors)
      );
      parts.push(h('div', { class: 'waiting' },
        h('p', { text: `Logged for ${shortDate(log.done_on)}. Waiting for ${partnerName} to confirm.` }), withdraw));
    } else if (queued) {
      parts.push(h('p', { class: 'waiting', text: `Your answer about ${shortDate(log.done_on)} is saved, waiting to be sent.` }));
    } else {
      const confirm = h('button', { type: 'button', class: 'primary', text: 'Yes, we did it' });
      const dispute = h('button', { type: 'button', class: 'secondary', text: "It didn't happen" });
      const answer = (kind) => () =>
        queue({ client_id: uuid(), kind, url: `/api/sessions/${log.id}/${kind}`, session_id: log.id, plan_item_id: item.id }, rerender);
      confirm.addEventListener('click', answer('confirm'));
      dispute.addEventListener('click', answer('dispute'));
      parts.push(h('div', { class: 'waiting for-me' },
        h('p', { text: `${names[log.logged_by] || partnerName} logged a session together on ${shortDate(log.done_on)}. It's waiting for you.` }),
        h('div', { class: 'actions' }, confirm, dispute)));
    }
  }
  if (!parts.length && awaitingCount(item)) {
    parts.push(h('p', { class: 'waiting', text: `${awaitingCount(item)} waiting to be confirmed.` }));
  }
  if (mine.some((p) => p.kind === 'log')) {
    parts.push(h('p', { class: 'pending', role: 'note' }, h('span', { class: 'dot', 'aria-hidden': 'true' }),
      `${mine.filter((p) => p.kind === 'log').length} logged on this phone, waiting to be sent.`));
  }

  let logForm = null;
  if (assigned) {
    const date = h('input', { type: 'date', class: 'input', value: today, max: today, 'aria-label': `Day you did ${item.title}` });
    const button = h('button', { type: 'submit', class: 'primary', text: item.mode === 'joint' ? 'We did it' : 'I did it' });
    logForm = h('form', {
      class: 'log',
      onsubmit: (event) => {
        event.preventDefault();
        const clientId = uuid();
        busy(button, () =>
          queue({
            client_id: clientId,
            kind: 'log',
            url: `/api/plan-items/${item.id}/sessions`,
            body: { client_id: clientId, done_on: date.value || today },
            plan_item_id: item.id,
          }, rerender), errors);
      },
    }, date, button);
  }

  const titleId = `item-${item.id}`;
  return h('article', { class: 'card item', 'aria-labelledby': titleId },
    h('div', { class: 'item-head' },
      h('h2', { id: titleId }, h('a', { href: `#/exercise/${item.exercise_id}`, text: item.title || 'Exercise' })),
      h('span', { class: `badge ${item.mode}`, text: MODE[item.mode] || item.mode })
    ),
    h('p', { class: 'meta', text: [
      `${item.times_per_week}× this week`,
      item.minutes ? `${item.minutes} min` : null,
      item.mode === 'individual' && !assigned ? `for ${(item.assignee_ids || []).map((id) => names[id]).join(' and ')}` : null,
    ].filter(Boolean).join(' · ') }),
    item.instructions ? h('p', { class: 'instructions', text: item.instructions }) : null,
    h('div', { class: 'progress-row' },
      h('progress', { max: String(progress.target || 1), value: String(Math.min(progress.done, progress.target || 1)), 'aria-labelledby': titleId }),
      h('span', { class: 'count', text: `${progress.done} of ${progress.target} done` })
    ),
    parts,
    logForm,
    errors
  );
}

export async function render(root, { state, render: rerender }) {
  const couple = state.couple;
  root.append(title('This week'));
  if (!couple) {
    root.append(empty('You are not in a couple yet.'), h('a', { href: '#/join', class: 'button primary', text: 'Join with a code' }));
    return;
  }
  const [plan, pending, appointment, questionnaires] = await Promise.all([
    currentPlan(couple.id),
    offline.pending(),
    appointmentCard(couple.id),
    dueCard(),
  ]);
  const today = todayIn(couple.timezone);
  root.append(h('p', { class: 'lead', text: weekLabel(plan ? plan.week_start : mondayOf(today)) }));
  const note = pendingNote(pending);
  if (note) root.append(note);
  if (appointment) root.append(appointment);
  if (questionnaires) root.append(questionnaires);
  if (!plan) {
    root.append(empty('No plan for this week yet. Your therapist will share one soon; nothing to do meanwhile.'));
    return;
  }
  const me = state.user.id;
  const names = Object.fromEntries((couple.members || []).map((m) => [m.user_id, m.display_name]));
  const partner = (couple.members || []).find((m) => m.role === 'partner' && m.user_id !== me);
  const partnerName = partner ? partner.display_name : 'your partner';
  if (plan.note) {
    root.append(h('section', { class: 'card note-from' }, h('h2', { text: 'From your therapist' }), h('p', { text: plan.note })));
  }
  const items = plan.items || [];
  if (!items.length) root.append(empty('This week has no exercises. Enjoy the rest.'));
  const ctx = { me, names, partnerName, pending, rerender, today };
  root.append(h('div', { class: 'items' }, items.map((item) => itemCard(item, ctx))));
  root.append(h('p', { class: 'links' }, h('a', { href: '#/checkin', text: 'How did it go? Write a check-in' }),
    h('a', { href: '#/my-measures', text: 'My questionnaires' }),
    h('a', { href: '#/print/week', text: 'Print this week' })));
}
