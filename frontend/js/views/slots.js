// @ts-check
// Agreed practice times on the week: propose a time, accept or decline the partner's (or suggest
// another), call one off, and a gentle nudge about what waits for the partner. Times are shown and
// entered in this device's own time zone; the server keeps instants.
import * as api from '../api.js';
import { busy, confirmDialog, h, say } from '../ui.js';

// The couple's times for a week (an empty list when the server has none or cannot say).
/** @param {Uuid} coupleId @param {LocalDate} weekStart @returns {Promise<Slot[]>} */
export async function loadSlots(coupleId, weekStart) {
  try {
    return await api.get(`/api/couples/${encodeURIComponent(coupleId)}/slots?week_start=${encodeURIComponent(weekStart)}`);
  } catch {
    return [];
  }
}

/** @param {Instant} iso */
export function when(iso) {
  return new Intl.DateTimeFormat(undefined, {
    weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
  }).format(new Date(iso));
}

/** @param {number} n */
const pad = (n) => String(n).padStart(2, '0');

// <input type=datetime-local> speaks this device's wall time without an offset.
/** @param {Date} date */
function localValue(date) {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

// The week's bounds as this device sees them: from now (or the Monday) to the end of Sunday.
/** @param {LocalDate} weekStart */
function bounds(weekStart) {
  const monday = new Date(`${weekStart}T00:00`);
  const end = new Date(`${weekStart}T23:59`);
  end.setDate(end.getDate() + 6);
  const now = new Date();
  return { min: localValue(now > monday ? now : monday), max: localValue(end) };
}

// "Nudge Sam": what the sender is told is true whether or not Sam accepts nudges.
/** @param {Uuid} coupleId @param {{ session_id: Uuid } | { slot_id: Uuid }} body @param {string} partnerName @param {HTMLElement} errors */
export function nudgeButton(coupleId, body, partnerName, errors) {
  const button = h('button', { type: 'button', class: 'link', text: `Nudge ${partnerName}` });
  button.addEventListener('click', () => busy(button, async () => {
    await api.post(`/api/couples/${encodeURIComponent(coupleId)}/nudges`, body);
    say(`Nudged. If ${partnerName}'s notifications allow it, they get a gentle reminder.`);
  }, errors));
  return button;
}

/** @param {{ label: string, button: string, weekStart: LocalDate, onTime: (startsAt: Instant) => Promise<void>, errors: HTMLElement }} options */
function timeForm({ label, button: buttonText, weekStart, onTime, errors }) {
  const { min, max } = bounds(weekStart);
  const input = h('input', { type: 'datetime-local', class: 'input', min, max, required: true, 'aria-label': label });
  const button = h('button', { type: 'submit', class: 'secondary', text: buttonText });
  return h('form', {
    class: 'slot-form',
    onsubmit: (event) => {
      event.preventDefault();
      if (!input.value) {
        errors.replaceChildren(h('p', { class: 'error', role: 'alert', text: 'Pick a day and a time first.' }));
        return;
      }
      busy(button, () => onTime(new Date(input.value).toISOString()), errors);
    },
  }, input, button);
}

/** @param {Slot} slot @param {PlanItem} item @param {WeekContext} ctx @param {HTMLElement} errors */
function slotLine(slot, item, ctx, errors) {
  const { me, names, partnerName, coupleId, rerender } = ctx;
  const mine = slot.proposed_by === me;
  const who = names[slot.proposed_by || ''] || partnerName;
  const at = when(slot.starts_at);
  /** @param {string} label @param {string} cls @param {() => Promise<unknown>} run */
  const act = (label, cls, run) => {
    const button = h('button', { type: 'button', class: cls, text: label });
    button.addEventListener('click', () => busy(button, async () => {
      await run();
      await rerender();
    }, errors));
    return button;
  };
  const callOff = () => act('Call off', 'link', async () => {
    if (!(await confirmDialog('Call this time off?', `${at} will be taken off the week for both of you.`, 'Call off'))) return;
    await api.del(`/api/slots/${slot.id}`);
    say('That time is called off.');
  });
  if (slot.status === 'accepted') {
    const text = item.mode === 'joint' ? `Agreed: ${at}` : mine ? `Your time: ${at}` : `${who}'s time: ${at}`;
    return h('li', { class: 'slot agreed' }, h('span', { text }), item.mode === 'joint' || mine ? callOff() : null);
  }
  if (slot.status === 'declined') {
    return mine ? h('li', { class: 'slot' }, h('span', { class: 'hint', text: `${partnerName} can't make ${at}.` })) : null;
  }
  if (slot.status !== 'proposed') return null;
  if (mine) {
    return h('li', { class: 'slot' },
      h('span', { text: `You suggested ${at}. Waiting for ${partnerName}.` }),
      h('span', { class: 'actions tight' },
        nudgeButton(coupleId, { slot_id: slot.id }, partnerName, errors),
        act('Withdraw', 'link', () => api.del(`/api/slots/${slot.id}`))));
  }
  const other = h('div', { hidden: true });
  const suggest = h('button', { type: 'button', class: 'link', text: 'Suggest another time' });
  suggest.addEventListener('click', () => {
    other.hidden = false;
    suggest.hidden = true;
    other.querySelector('input')?.focus();
  });
  other.append(timeForm({
    label: `Another time instead of ${at}`,
    button: 'Suggest',
    weekStart: ctx.weekStart,
    errors,
    onTime: async (startsAt) => {
      await api.patch(`/api/slots/${slot.id}`, { starts_at: startsAt });
      say(`Suggested. ${partnerName} can accept it.`);
      await rerender();
    },
  }));
  return h('li', { class: 'slot for-me' },
    h('span', { text: `${who} suggests ${at}.` }),
    h('span', { class: 'actions tight' },
      act('Accept', 'primary', async () => {
        await api.post(`/api/slots/${slot.id}/accept`);
        say(`Agreed: ${at}. You'll both be reminded before it.`);
      }),
      act('Decline', 'secondary', async () => {
        await api.post(`/api/slots/${slot.id}/decline`);
        say('Declined.');
      }),
      suggest),
    other);
}

// The "Times" part of an item's card on the week.
/** @param {PlanItem} item @param {WeekContext} ctx */
export function slotsPanel(item, ctx) {
  const assigned = item.mode === 'joint' || (item.assignee_ids || []).includes(ctx.me);
  const slots = (ctx.slots || []).filter((s) => s.plan_item_id === item.id);
  const errors = h('div');
  const lines = slots.map((slot) => slotLine(slot, item, ctx, errors)).filter(Boolean);
  const form = assigned
    ? timeForm({
        label: item.mode === 'joint' ? `Suggest a time for ${item.title}` : `Set a time for ${item.title}`,
        button: item.mode === 'joint' ? 'Suggest a time' : 'Set a time',
        weekStart: ctx.weekStart,
        errors,
        onTime: async (startsAt) => {
          /** @type {Slot} */
          const slot = await api.post(`/api/plan-items/${item.id}/slots`, { starts_at: startsAt });
          say(slot.status === 'accepted' ? `Set: ${when(slot.starts_at)}.` : `Suggested. ${ctx.partnerName} can accept it.`);
          await ctx.rerender();
        },
      })
    : null;
  if (!lines.length && !form) return null;
  return h('div', { class: 'slots' },
    h('h3', { text: 'Times' }),
    lines.length ? h('ul', { class: 'plain' }, lines) : null,
    form,
    errors);
}

// --- for the therapist: read-only ---------------------------------------------------------------

// [when, exercise, status] of one time, in the couple's time zone (the therapist's device may
// be elsewhere): the couple's page and the brief list them alike.
/** @param {Slot & { title?: string, mode?: Mode }} slot @param {Record<Uuid, string>} names @param {string} timeZone @param {string} [title] */
export function practiceTimeRow(slot, names, timeZone, title) {
  let at;
  try {
    at = new Intl.DateTimeFormat(undefined, { weekday: 'short', day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', timeZone }).format(new Date(slot.starts_at));
  } catch {
    at = when(slot.starts_at);
  }
  const who = names[slot.proposed_by || ''] || 'A partner';
  const status = slot.status === 'accepted'
    ? (slot.mode || 'joint') === 'joint' ? 'agreed' : `${who}’s own time`
    : `suggested by ${who}, not answered yet`;
  return [at, slot.title || title || 'An exercise', status];
}

// This week's agreed and suggested times on the therapist's couple page: what the partners
// planned, as context for what they logged. Nothing to act on here.
/** @param {Slot[]} slots @param {Plan | null} plan @param {Record<Uuid, string>} names @param {string} timeZone */
export function plannedTimes(slots, plan, names, timeZone) {
  const items = new Map(((plan && plan.items) || []).map((i) => [i.id, i]));
  const shown = slots.filter((s) => s.status === 'accepted' || s.status === 'proposed');
  if (!shown.length) {
    return h('p', { class: 'empty', text: plan ? 'No practice time agreed or suggested for this week yet.' : 'No plan published for this week, so no practice times.' });
  }
  const here = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return h('div', {},
    h('ul', { class: 'plain planned-times' }, shown.map((slot) => {
      const item = items.get(slot.plan_item_id);
      const [at, what, status] = practiceTimeRow({ ...slot, mode: item ? item.mode : 'joint' }, names, timeZone, item ? item.title : undefined);
      return h('li', { class: `planned ${slot.status}` },
        h('strong', { text: at }),
        h('span', { class: 'what', text: `${what} · ` }, h('span', { class: slot.status === 'accepted' ? 'agreed' : 'hint', text: status })));
    })),
    here === timeZone ? null : h('p', { class: 'hint', text: `Times in the couple’s time zone (${timeZone}).` }));
}
