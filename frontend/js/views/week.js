// @ts-check
// This week, for a partner: each exercise with its progress, logging a session, confirming or
// disputing what the other partner logged. Logs and answers go through the offline queue (sent
// once: the server dedupes by client_id); a dispute's reason is sent at once, never stored.
import * as api from '../api.js';
import * as offline from '../offline.js';
import { appointmentCard } from './appointment.js';
import { dueCard } from './measures.js';
import { loadSlots, nudgeButton, slotsPanel } from './slots.js';
import { busy, empty, field, h, mondayOf, say, shortDate, title, todayIn, uuid, weekLabel } from '../ui.js';

/** @param {Uuid} coupleId @returns {Promise<Plan | null>} */
export async function currentPlan(coupleId) {
  try {
    return await api.get(api.path`/api/couples/${coupleId}/plans/current`);
  } catch (error) {
    if (api.statusOf(error) === 404) return null;
    throw error;
  }
}

// This week's session logs of an item.
/** @param {PlanItem} item */
export function logsOf(item) {
  return item.sessions || [];
}

// The other partner (or who left), and everyone's names, those who left too.
/** @param {Couple | null} couple @param {Uuid} me @returns {People} */
export function together(couple, me) {
  const members = (couple && couple.members) || [];
  const former = (couple && couple.former_members) || [];
  const partner = members.find((m) => m.role === 'partner' && m.user_id !== me) || null;
  const left = partner ? null : former.find((m) => m.role === 'partner') || null;
  const names = Object.fromEntries([...former, ...members].map((m) => [m.user_id, m.display_name]));
  return { partner, left, names, partnerName: partner ? partner.display_name : left ? left.display_name : 'your partner' };
}

/** @param {PlanItem} item */
function awaitingCount(item) {
  return Number(item.progress && item.progress.awaiting_partner) || 0;
}

const MODE = { joint: 'Together', individual: 'On your own' };

// "Tandem asked to wait a little: it will be sent at about 14:05." when the server said when
// to come back (Retry-After), else null.
function serverWait() {
  const next = offline.nextRetry();
  if (!next || !next.asked) return null;
  const at = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' }).format(new Date(next.at));
  return `Tandem is busy and asked to wait a little: it will be sent at about ${at}.`;
}

/** @param {QueueEntry} entry @param {() => Promise<void>} rerender */
export async function queue(entry, rerender) {
  await offline.enqueue(entry);
  const outcome = await offline.flush({ interactive: true });
  if (outcome.refused.length) say(outcome.refused[0].message);
  else if (!outcome.sent) say(`Saved on this phone. ${serverWait() || "It will be sent when you're back online."}`);
  await rerender();
}

/** @param {StoredEntry[]} entries */
function pendingNote(entries) {
  if (!entries.length) return null;
  const n = entries.length;
  const wait = serverWait();
  return h('p', { class: 'pending', role: 'note' },
    h('span', { class: 'dot', 'aria-hidden': 'true' }),
    `${n} ${n === 1 ? 'entry is' : 'entries are'} saved on this phone, waiting to be sent.${wait ? ` ${wait}` : ''}`
  );
}

/** @param {() => Promise<void>} rerender */
function refusedNote(rerender) {
  const messages = offline.refusalsNow();
  if (!messages.length) return null;
  return h('section', { class: 'card refused', role: 'alert', 'aria-labelledby': 'refused-title' },
    h('h2', { id: 'refused-title', text: messages.length === 1 ? 'Not accepted' : `${messages.length} not accepted` }),
    messages.map((text) => h('p', { text })),
    h('button', { type: 'button', class: 'secondary', text: 'OK', onclick: async () => { offline.dismissRefusals(); await rerender(); } }));
}

/** @param {People} people */
function coupleNote(people) {
  if (people.partner) return null;
  const invite = h('a', { href: '#/invite', text: 'Invite a partner' });
  if (people.left) {
    return h('section', { class: 'card note-from', 'aria-labelledby': 'left-title' },
      h('h2', { id: 'left-title', text: `${people.left.display_name} left the couple` }),
      h('p', { text: `${people.left.display_name} left on ${shortDate(people.left.left_at)}. Sessions that were waiting for one of you were closed. What you do on your own carries on; exercises for two wait until a partner joins.` }),
      h('p', { class: 'links' }, invite));
  }
  return h('section', { class: 'card note-from', 'aria-labelledby': 'solo-title' },
    h('h2', { id: 'solo-title', text: 'Just you, for now' }),
    h('p', { text: 'Your plan is for you. If a partner joins you later, exercises for two become possible.' }),
    h('p', { class: 'links' }, invite));
}

/** @param {PlanItem} item @param {Uuid} me @param {Record<Uuid, string>} names */
function countText(item, me, names) {
  const progress = item.progress;
  const people = progress.by_partner || [];
  if (item.mode !== 'individual' || people.length < 2) {
    const only = people.length === 1 && people[0].user_id !== me ? `${names[people[0].user_id] || 'Your partner'}: ` : '';
    return { text: `${only}${progress.done} of ${progress.target} done`, done: progress.done, target: progress.target };
  }
  // "You: 2 of 7 · Sam: 3 of 7", never "5 of 14".
  const ordered = [...people].sort((a, b) => (a.user_id === me ? -1 : b.user_id === me ? 1 : 0));
  const mine = people.find((p) => p.user_id === me) || progress;
  return {
    text: ordered.map((p) => `${p.user_id === me ? 'You' : names[p.user_id] || 'Your partner'}: ${p.done} of ${p.target}`).join(' · '),
    done: mine.done,
    target: mine.target,
  };
}

/**
 * @param {{ id: Uuid, done_on?: LocalDate }} log @param {PlanItem | null} item
 * @param {{ rerender: () => Promise<void> }} ctx @param {HTMLElement} errors
 */
function disputeForm(log, item, ctx, errors) {
  const reason = h('textarea', { class: 'input', rows: '3', maxlength: '500' });
  const send = h('button', { type: 'submit', class: 'primary', text: 'Send' });
  const form = h('form', {
    class: 'stack',
    hidden: true,
    onsubmit: (event) => {
      event.preventDefault();
      const said = reason.value.trim();
      busy(send, async () => {
        if (!said) return answer(log, item, 'dispute', ctx);
        try {
          await api.post(api.path`/api/sessions/${log.id}/dispute`, { reason: said });
        } catch (error) {
          if (api.isOffline(error)) throw new Error("You're offline. What you wrote is still here; send it when you're back online. It is not stored on this phone.", { cause: error });
          throw error;
        }
        say('Sent.');
        return ctx.rerender();
      }, errors);
    },
  },
  field('What happened? (optional)', reason, 'Your partner and your therapist can read this. Up to 500 characters; it isn’t stored on this phone.'),
  h('div', { class: 'actions' }, send, h('button', { type: 'button', class: 'secondary', text: 'Cancel', onclick: () => { form.hidden = true; } })));
  return form;
}

/**
 * @param {{ id: Uuid, done_on?: LocalDate }} log @param {PlanItem | null} item
 * @param {'confirm' | 'dispute'} kind @param {{ rerender: () => Promise<void> }} ctx
 */
const answer = (log, item, kind, ctx) =>
  queue({ client_id: uuid(), kind, url: api.path`/api/sessions/${log.id}/${kind}`, session_id: log.id, plan_item_id: item && item.id, done_on: log.done_on }, ctx.rerender);

// Confirm, or say it didn't happen (and, if one wishes, what happened). Also the screen a
// notification's Confirm opens (views/session.js).
/**
 * @param {{ id: Uuid, done_on?: LocalDate }} log @param {PlanItem | null} item
 * @param {{ rerender: () => Promise<void> }} ctx @param {HTMLElement} errors @param {string} lead
 */
export function answerBlock(log, item, ctx, errors, lead) {
  const form = disputeForm(log, item, ctx, errors);
  const dispute = () => {
    form.hidden = false;
    form.querySelector('textarea')?.focus();
  };
  return h('div', { class: 'waiting for-me' },
    h('p', { text: lead }),
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'primary', text: 'Yes, we did it', onclick: () => answer(log, item, 'confirm', ctx) }),
      h('button', { type: 'button', class: 'secondary', text: "It didn't happen", onclick: dispute })),
    form);
}

/** @param {SessionLog} log @param {WeekContext} ctx @param {HTMLElement} errors */
function withdrawButton(log, ctx, errors) {
  const withdraw = h('button', { type: 'button', class: 'link', text: 'Withdraw' });
  withdraw.addEventListener('click', () =>
    busy(withdraw, async () => {
      await api.del(api.path`/api/sessions/${log.id}`);
      await ctx.rerender();
    }, errors));
  return withdraw;
}

/** @param {string | null | undefined} reason */
function quoted(reason) {
  return reason ? h('blockquote', { class: 'reason', text: reason }) : null;
}

/** @param {SessionLog} log @param {PlanItem} item @param {WeekContext} ctx @param {HTMLElement} errors */
function logBlock(log, item, ctx, errors) {
  const { me, names, partnerName, pending } = ctx;
  const day = shortDate(log.done_on);
  const other = names[(log.logged_by === me ? log.disputed_by : log.logged_by) || ''] || partnerName;
  if (log.status === 'awaiting_partner') {
    if (log.logged_by === me) {
      return h('div', { class: 'waiting' },
        h('p', { text: `Logged for ${day}. Waiting for ${partnerName} to confirm.` }), withdrawButton(log, ctx, errors),
        nudgeButton(ctx.coupleId, { session_id: log.id }, partnerName, errors));
    }
    if (pending.some((p) => p.session_id === log.id)) {
      return h('p', { class: 'waiting', text: `Your answer about ${day} is saved, waiting to be sent.` });
    }
    return answerBlock(log, item, ctx, errors, `${names[log.logged_by] || partnerName} logged a session together on ${day}. It's waiting for you.`);
  }
  if (log.status === 'disputed') {
    if (log.logged_by === me) {
      return h('div', { class: 'waiting disputed' },
        h('p', { text: `${other} said the session you logged for ${day} didn't happen${log.dispute_reason ? ':' : '.'}` }),
        quoted(log.dispute_reason),
        h('p', { class: 'hint', text: 'It doesn’t count. You can withdraw it, or talk it over.' }),
        withdrawButton(log, ctx, errors));
    }
    return h('div', { class: 'waiting disputed' },
      h('p', { text: `You said the session ${names[log.logged_by] || partnerName} logged for ${day} didn't happen${log.dispute_reason ? ':' : '.'}` }),
      quoted(log.dispute_reason));
  }
  if (log.status === 'withdrawn' && log.withdrawn_reason) {
    const text = log.logged_by === me
      ? `You logged a session for ${day}; ${partnerName} left the couple before confirming it, so it was closed.`
      : `${names[log.logged_by] || partnerName} logged a session for ${day}, then left the couple before you answered, so it was closed.`;
    return h('p', { class: 'waiting closed', text });
  }
  return null;
}

/** @param {PlanItem} item @param {WeekContext} ctx */
function itemCard(item, ctx) {
  const { me, names, pending, rerender, today, people } = ctx;
  const assigned = item.mode === 'joint' || (item.assignee_ids || []).includes(me);
  const count = countText(item, me, names);
  const mine = pending.filter((p) => p.plan_item_id === item.id);
  const errors = h('div');
  const parts = logsOf(item).map((log) => logBlock(log, item, ctx, errors)).filter(Boolean);
  if (!parts.length && awaitingCount(item)) {
    parts.push(h('p', { class: 'waiting', text: `${awaitingCount(item)} waiting to be confirmed.` }));
  }
  if (mine.some((p) => p.kind === 'log')) {
    parts.push(h('p', { class: 'pending', role: 'note' }, h('span', { class: 'dot', 'aria-hidden': 'true' }),
      `${mine.filter((p) => p.kind === 'log').length} logged on this phone, waiting to be sent.`));
  }

  let logForm = null;
  if (item.mode === 'joint' && !people.partner) {
    logForm = h('p', { class: 'hint', text: 'This one is for two. It can be logged once a partner has joined you.' });
  } else if (assigned) {
    const date = h('input', { type: 'date', class: 'input', value: today, max: today, 'aria-label': `Day you did ${item.title}` });
    const button = h('button', { type: 'submit', class: 'primary', text: item.mode === 'joint' ? 'We did it' : 'I did it' });
    logForm = h('form', {
      class: 'log',
      onsubmit: (event) => {
        event.preventDefault();
        const clientId = uuid();
        const day = date.value || today;
        busy(button, () =>
          queue({
            client_id: clientId,
            kind: 'log',
            url: api.path`/api/plan-items/${item.id}/sessions`,
            body: { client_id: clientId, done_on: day },
            plan_item_id: item.id,
            done_on: day,
          }, rerender), errors);
      },
    }, date, button);
  }

  const titleId = `item-${item.id}`;
  return h('article', { class: 'card item', 'aria-labelledby': titleId },
    h('div', { class: 'item-head' },
      h('h2', { id: titleId }, h('a', { href: `#/exercise/${encodeURIComponent(item.exercise_id)}`, text: item.title || 'Exercise' })),
      h('span', { class: `badge ${item.mode}`, text: MODE[item.mode] || item.mode })
    ),
    h('p', { class: 'meta', text: [
      `${item.times_per_week}× this week${item.mode === 'individual' && (item.assignee_ids || []).length > 1 ? ' each' : ''}`,
      item.minutes ? `${item.minutes} min` : null,
      item.mode === 'individual' && !assigned ? `for ${(item.assignee_ids || []).map((id) => names[id] || 'your partner').join(' and ')}` : null,
    ].filter(Boolean).join(' · ') }),
    item.instructions ? h('p', { class: 'instructions', text: item.instructions }) : null,
    h('div', { class: 'progress-row' },
      h('progress', { max: String(count.target || 1), value: String(Math.min(count.done, count.target || 1)), 'aria-labelledby': titleId }),
      h('span', { class: 'count', text: count.text })
    ),
    parts,
    logForm,
    slotsPanel(item, ctx),
    errors
  );
}

/** @type {View} */
export async function render(root, { state, render: rerender }) {
  const couple = state.couple;
  root.append(title('This week'));
  if (!couple) {
    root.append(empty('You are not in a couple yet.'), h('a', { href: '#/join', class: 'button primary', text: 'Join with a code' }));
    return;
  }
  const today = todayIn(couple.timezone);
  const [plan, pending, appointment, questionnaires, slots] = await Promise.all([
    currentPlan(couple.id),
    offline.pending(),
    appointmentCard(couple.id),
    dueCard(),
    loadSlots(couple.id, mondayOf(today)),
  ]);
  const me = state.user.id;
  const people = together(couple, me);
  root.append(h('p', { class: 'lead', text: weekLabel(plan ? plan.week_start : mondayOf(today)) }));
  root.append(...[refusedNote(rerender), pendingNote(pending), coupleNote(people), appointment, questionnaires].filter((node) => node !== null));
  if (!plan) {
    root.append(empty('No plan for this week yet. Your therapist will share one soon; nothing to do meanwhile.'),
      h('p', { class: 'links' }, h('a', { href: '#/my-measures', text: 'My questionnaires and goals' })));
    return;
  }
  if (plan.note) {
    root.append(h('section', { class: 'card note-from' }, h('h2', { text: 'From your therapist' }), h('p', { text: plan.note })));
  }
  const items = plan.items || [];
  if (!items.length) root.append(empty('This week has no exercises. Enjoy the rest.'));
  /** @type {WeekContext} */
  const ctx = { me, names: people.names, partnerName: people.partnerName, people, pending, rerender, today, slots, coupleId: couple.id, weekStart: plan.week_start };
  root.append(h('div', { class: 'items' }, items.map((item) => itemCard(item, ctx))));
  root.append(h('p', { class: 'links' }, h('a', { href: '#/checkin', text: 'How did it go? Write a check-in' }),
    h('a', { href: '#/my-measures', text: 'My questionnaires and goals' }),
    h('a', { href: '#/print/week', text: 'Print this week' })));
}
