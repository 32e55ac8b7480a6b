// @ts-check
// The check-in sheet. Sending needs the network: offline, the draft stays on screen (never stored).
import * as api from '../api.js';
import { busy, chosenVisibility, dateTime, empty, field, h, say, title, VISIBILITY, visibilityPicker } from '../ui.js';
import { currentPlan, together } from './week.js';

// Who a check-in can be for: with no partner in the couple, only me or my therapist.
/** @param {People} people @returns {Visibility[] | undefined} */
export function visibilityChoices(people) {
  return people.partner ? undefined : ['private', 'therapist'];
}

/** @type {[RatingKey, string][]} */
const RATINGS = [
  ['closeness', 'Closeness'],
  ['enjoyment', 'Enjoyment'],
  ['comfort', 'Comfort'],
  ['anxiety', 'Anxiety'],
];

/** @param {string} label */
function ratingSelect(label) {
  const select = h('select', { class: 'input' }, h('option', { value: '', text: 'Skip' }));
  for (let i = 0; i <= 10; i++) select.append(h('option', { value: String(i), text: String(i) }));
  return field(`${label} (0–10)`, select);
}

/** @param {CheckIn} c @param {Record<Uuid, string>} names @param {Uuid} me */
export function checkinCard(c, names, me) {
  const ratings = RATINGS.filter(([key]) => c.ratings && c.ratings[key] !== null && c.ratings[key] !== undefined)
    .map(([key, label]) => `${label} ${c.ratings[key]}`)
    .join(' · ');
  return h('article', { class: 'card entry' },
    h('p', { class: 'meta', text: `${c.author_id === me ? 'You' : names[c.author_id] || 'Someone'} · ${dateTime(c.created_at)} · ${(VISIBILITY[c.visibility] || {}).label || c.visibility}` }),
    ratings ? h('p', { class: 'ratings', text: ratings }) : null,
    c.obstacles ? h('p', {}, h('strong', { text: 'What got in the way: ' }), c.obstacles) : null,
    c.text ? h('p', { class: 'body', text: c.text }) : null
  );
}

/** @type {View} */
export async function render(root, { state }) {
  const couple = state.couple;
  root.append(title('Check-in'), h('p', { class: 'lead', text: 'A few words on how it went. Everything here is optional.' }));
  if (!couple) {
    root.append(empty('Join your couple first.'));
    return;
  }
  const plan = await currentPlan(couple.id).catch(() => null);
  const item = h('select', { class: 'input' }, h('option', { value: '', text: 'The week in general' }),
    ((plan && plan.items) || []).map((i) => h('option', { value: i.id, text: i.title })));
  /** @type {[RatingKey, HTMLElement][]} */
  const ratingFields = RATINGS.map(([key, label]) => [key, ratingSelect(label)]);
  const obstacles = h('textarea', { class: 'input', rows: '3', maxlength: '2000' });
  const text = h('textarea', { class: 'input', rows: '4', maxlength: '20000' });
  const people = together(couple, state.user.id);
  const picker = visibilityPicker('checkin-visibility', 'private', visibilityChoices(people));
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Save check-in' });
  const form = h('form', {
    class: 'stack',
    onsubmit: (event) => {
      event.preventDefault();
      busy(button, async () => {
        /** @type {Ratings} */
        const ratings = {};
        for (const [key, wrap] of ratingFields) {
          const value = /** @type {HTMLSelectElement} */ (wrap.querySelector('select')).value;
          if (value !== '') ratings[key] = Number(value);
        }
        // Everything is optional: an empty box is left out, never sent as "".
        /** @type {Record<string, unknown>} */
        const body = { ratings, visibility: chosenVisibility(picker) };
        if (obstacles.value.trim()) body.obstacles = obstacles.value.trim();
        if (text.value.trim()) body.text = text.value.trim();
        if (item.value) body.plan_item_id = item.value;
        if (!Object.keys(ratings).length && !body.obstacles && !body.text) {
          throw new Error('Add a rating, what got in the way, or a few words, then save.');
        }
        try {
          await api.post(api.path`/api/couples/${couple.id}/checkins`, body);
        } catch (error) {
          if (api.isOffline(error)) {
            throw new Error("You're offline. Your check-in is still here; send it when you're back online. It is not stored on this phone.", { cause: error });
          }
          throw error;
        }
        form.reset(); // back to the start: every box empty, "Only me" chosen
        say('Check-in saved.');
        await list();
      }, errors);
    },
  },
  field('About', item),
  h('fieldset', { class: 'ratings-grid' }, h('legend', { text: 'How was it?' }), ratingFields.map(([, wrap]) => wrap)),
  field('What got in the way?', obstacles),
  field('Anything else', text),
  picker,
  errors,
  button);
  const history = h('section', { 'aria-labelledby': 'checkin-history' });
  root.append(form, history);
  const names = people.names;
  const coupleId = couple.id;
  async function list() {
    try {
      /** @type {CheckIn[]} */
      const entries = await api.get(api.path`/api/couples/${coupleId}/checkins`);
      history.replaceChildren(h('h2', { id: 'checkin-history', text: 'Recent check-ins' }),
        ...(entries.length ? entries.slice(0, 20).map((c) => checkinCard(c, names, state.user.id)) : [empty('No check-ins yet.')]));
    } catch (error) {
      history.replaceChildren(h('h2', { id: 'checkin-history', text: 'Recent check-ins' }), h('p', { class: 'hint', text: api.messageOf(error) }));
    }
  }
  await list();
}
