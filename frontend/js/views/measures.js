// @ts-check
// Questionnaires for a partner: what is due (on the week), answering one, the safety screen
// after a risk answer, my own history with plain-language bands, and my goals, which I rate
// myself. Nothing here is about the other partner's answers or own goals, and nothing is kept
// on the device.
import * as api from '../api.js';
import { busy, dateTime, empty, errorBox, FieldProblem, h, nextId, say, shortDate, title } from '../ui.js';

const LEVELS = ['2', '1', '0', '-1', '-2'];
/** @param {string | number} level */
const signed = (level) => (Number(level) > 0 ? `+${level}` : Number(level) < 0 ? `−${-Number(level)}` : '0');

export async function dueCard() {
  /** @type {Due[]} */
  let due;
  try {
    due = await api.get('/api/me/measures/due');
  } catch {
    return null; // the week must open even when this does not
  }
  if (!due.length) return null;
  return h('section', { class: 'card measures-due', 'aria-labelledby': 'due-h' },
    h('h2', { id: 'due-h', text: 'From your therapist: a short questionnaire' }),
    h('p', { class: 'hint', text: 'Only you and your therapist see your answers. Your partner is not told.' }),
    h('ul', { class: 'plain' }, due.map((d) => h('li', {},
      h('span', {}, d.measure.title, d.due_until ? h('span', { class: 'hint', text: ` · until ${dateTime(d.due_until)}` }) : null),
      h('a', { class: 'button secondary', href: `#/questionnaire/${encodeURIComponent(d.assignment_id)}`, text: 'Answer' })))));
}

/** @param {MeasureItem} item @param {number} number */
function question(item, number) {
  const legend = nextId('q');
  const slot = h('div', { class: 'field-error', id: `${legend}-error` });
  const set = h('fieldset', { class: 'question card', 'aria-labelledby': legend, 'aria-describedby': slot.id, 'data-item': item.key },
    h('legend', { id: legend }, h('span', { class: 'number', text: `${number}. ` }), item.text, item.required ? null : h('span', { class: 'hint', text: ' (optional)' })),
    item.options.map((o) => {
      const id = nextId('a');
      return h('div', { class: 'radio' },
        h('input', { type: 'radio', id, name: `item-${item.key}`, value: String(o.value), required: item.required }),
        h('label', { for: id, text: o.label }));
    }),
    slot);
  return set;
}

/** @param {HTMLElement} root @param {string[]} resources */
export function safetyScreen(root, resources) {
  root.replaceChildren(
    title('You don’t have to carry this alone'),
    h('section', { class: 'card safety', role: 'alert', 'aria-labelledby': 'safety-h' },
      h('h2', { id: 'safety-h', text: 'One of your answers says things are very hard right now.' }),
      h('ul', {}, resources.map((line) => h('li', { text: line })))),
    h('p', { text: 'Your answers are saved. Only you and your therapist can see them — your partner cannot.' }),
    h('div', { class: 'actions' }, h('a', { class: 'button secondary', href: '#/week', text: 'Back to this week' })));
}

/** @param {HTMLElement} root @param {SavedResponse} saved */
function result(root, saved) {
  const share = h('button', { type: 'button', class: 'secondary', text: 'Show this result to my partner' });
  const slot = h('div');
  share.addEventListener('click', () => busy(share, async () => {
    await api.post(`/api/measure-responses/${saved.id}/share`);
    share.replaceWith(h('p', { text: 'Shared: your partner can now see this score (not your answers).' }));
  }, slot));
  root.replaceChildren(title('Thank you'),
    h('section', { class: 'card' },
      h('p', { class: 'score', text: `Your score: ${saved.total}` }),
      saved.band ? h('p', { text: saved.band.plain }) : null,
      h('p', { class: 'hint', text: 'Only you and your therapist see this unless you choose to share it.' }),
      h('div', { class: 'actions' }, share), slot),
    h('p', { class: 'links' }, h('a', { href: '#/my-measures', text: 'My questionnaires and goals' }), h('a', { href: '#/week', text: 'This week' })));
}

/** @type {View} */
export async function renderAnswer(root, { params }) {
  const id = params[0];
  const due = /** @type {Due[]} */ (await api.get('/api/me/measures/due')).find((d) => d.assignment_id === id);
  root.append(title(due ? due.measure.title : 'Questionnaire'));
  if (!due) {
    root.append(empty('Nothing to answer here right now.'), h('a', { href: '#/week', text: 'Back to this week' }));
    return;
  }
  const m = due.measure;
  const errors = h('div');
  const submit = h('button', { type: 'submit', class: 'primary', text: 'Send my answers' });
  const form = h('form', { class: 'stack', novalidate: true },
    h('p', { class: 'lead', text: m.instructions }),
    m.items.map((item, i) => question(item, i + 1)),
    errors,
    h('div', { class: 'actions' }, submit),
    h('p', { class: 'hint', text: m.attribution }));
  /** @param {string} key @param {string} message */
  const mark = (key, message) => {
    const set = form.querySelector(`[data-item="${CSS.escape(key)}"]`);
    if (!set) return false;
    set.classList.add('invalid');
    set.querySelector('.field-error')?.replaceChildren(h('p', { class: 'error', text: message }));
    return true;
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    form.querySelectorAll('.field-error').forEach((s) => s.replaceChildren());
    form.querySelectorAll('.invalid').forEach((s) => s.classList.remove('invalid'));
    /** @type {Record<string, number>} */
    const answers = {};
    /** @type {string | null} */
    let missing = null;
    m.items.forEach((item, i) => {
      /** @type {HTMLInputElement | null} */
      const chosen = form.querySelector(`input[name="item-${CSS.escape(item.key)}"]:checked`);
      if (chosen) answers[item.key] = Number(chosen.value);
      else if (item.required) {
        mark(item.key, `Question ${i + 1} needs an answer.`);
        missing = missing || item.key;
      }
    });
    if (missing) {
      /** @type {HTMLElement | null} */ (form.querySelector(`[data-item="${CSS.escape(missing)}"] input`))?.focus();
      errors.replaceChildren(errorBox('Some questions still need an answer.'));
      return;
    }
    busy(submit, async () => {
      try {
        /** @type {SavedResponse} */
        const saved = await api.post('/api/measure-responses', { assignment_id: id, answers });
        window.scrollTo(0, 0);
        if (saved.risk) safetyScreen(root, saved.crisis_resources);
        else result(root, saved);
      } catch (error) {
        if (error instanceof api.ApiError && error.status === 422 && Array.isArray(error.detail)) {
          const placed = error.detail.filter((/** @type {ValidationEntry} */ e) => mark(String((e.loc || []).slice(-1)[0]), api.plainMessage(e)));
          if (placed.length) throw new Error('Please check the questions marked below.', { cause: error });
        }
        throw error;
      }
    }, errors);
  });
  root.append(form);
}

// "+1 (by you, Mon 30 Nov)": the latest rating of a goal, or that there is none yet.
/** @param {Goal} goal @param {Uuid} me @param {Record<Uuid, string>} names */
function latestRating(goal, me, names) {
  const last = goal.ratings[goal.ratings.length - 1];
  if (!last) return 'Not rated yet.';
  const who = last.rated_by === me ? 'you' : names[last.rated_by || ''] || 'your therapist';
  return `Last rated ${signed(last.level)}, “${goal.levels[String(last.level)]}” (by ${who}, ${shortDate(last.rated_at)}).`;
}

// One goal: its five levels in the therapist's words, and where I am now.
/** @param {Goal} goal @param {Uuid} me @param {Record<Uuid, string>} names */
function goalCard(goal, me, names) {
  const latest = h('p', { class: 'latest', text: latestRating(goal, me, names) });
  const legend = nextId('goal');
  const slot = h('div');
  const levels = h('fieldset', { class: 'levels', 'aria-labelledby': legend, 'data-field': 'level' },
    h('legend', { id: legend, text: 'Where are you now?' }),
    LEVELS.map((level) => {
      const id = nextId('level');
      return h('div', { class: 'radio' },
        h('input', { type: 'radio', id, name: `goal-${goal.id}`, value: level }),
        h('label', { for: id }, h('strong', { text: signed(level) }), h('span', { text: goal.levels[level] })));
    }));
  const save = h('button', { type: 'submit', class: 'primary', text: 'Save my rating' });
  const form = h('form', { class: 'stack' }, levels, slot, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(save, async () => {
      /** @type {HTMLInputElement | null} */
      const chosen = form.querySelector('input:checked');
      if (!chosen) throw new FieldProblem(levels, 'Choose the level that fits best now.');
      /** @type {Goal} */
      const rated = await api.post(api.path`/api/goals/${goal.id}/ratings`, { level: Number(chosen.value) });
      latest.textContent = latestRating(rated, me, names);
      say('Your rating is saved. Your therapist sees it too.');
    }, slot);
  });
  return h('article', { class: 'card goal' },
    h('h3', { text: goal.title }),
    h('p', { class: 'hint', text: goal.owner_id ? 'Your own goal: your therapist sees it, your partner does not.' : 'A goal for the two of you: your partner and your therapist see it.' }),
    latest, form);
}

/** @param {Couple} couple @param {Uuid} me */
async function goalsSection(couple, me) {
  /** @type {Goal[]} */
  const goals = await api.get(api.path`/api/couples/${couple.id}/goals`);
  const names = Object.fromEntries([...(couple.former_members || []), ...couple.members].map((m) => [m.user_id, m.display_name]));
  return h('section', { 'aria-labelledby': 'my-goals-h' },
    h('h2', { id: 'my-goals-h', text: 'My goals' }),
    goals.length
      ? [h('p', { class: 'hint', text: 'The goals you set with your therapist, each described at five levels. Rate where you are whenever you like; your therapist sees every rating.' }),
        goals.map((g) => goalCard(g, me, names))]
      : empty('Your therapist hasn’t set any goals with you yet.'));
}

/** @type {View} */
export async function renderHistory(root, { state }) {
  root.append(title('My questionnaires and goals'),
    h('p', { class: 'lead', text: 'Your own answers, seen by you and your therapist only.' }));
  const couple = state.couple;
  if (!couple) return root.append(empty('You are not in a couple yet.'));
  /** @type {[MeasureResult[], MeasureResult[], HTMLElement]} */
  const [mine, shared, goals] = await Promise.all([
    api.get(`/api/couples/${couple.id}/measure-results`),
    api.get(`/api/couples/${couple.id}/measure-results/shared`),
    goalsSection(couple, state.user.id),
  ]);
  root.append(h('h2', { text: 'My questionnaires' }));
  if (!mine.length) root.append(empty('You have not answered a questionnaire yet.'));
  for (const r of [...mine].reverse()) {
    const slot = h('div');
    const toggle = h('button', { type: 'button', class: 'link', text: r.shared ? 'Stop sharing with my partner' : 'Share with my partner' });
    toggle.addEventListener('click', () => busy(toggle, async () => {
      const now = r.shared ? await api.del(`/api/measure-responses/${r.id}/share`) : await api.post(`/api/measure-responses/${r.id}/share`);
      r.shared = now.shared;
      toggle.textContent = r.shared ? 'Stop sharing with my partner' : 'Share with my partner';
      say(r.shared ? 'Your partner can now see this score.' : 'No longer shared.');
    }, slot));
    root.append(h('article', { class: 'card result' },
      h('h3', { text: `${r.measure_title} · ${shortDate(r.submitted_at)}` }),
      h('p', { class: 'score', text: `${r.total} of ${r.max_total}` }),
      r.band ? h('p', { text: r.band.plain }) : null,
      r.reliable_change && r.reliable_change !== 'no reliable change' ? h('p', { class: 'hint', text: `Since your first answer: ${r.reliable_change}.` }) : null,
      toggle, slot));
  }
  if (shared.length) {
    root.append(h('h2', { text: 'Shared with you by your partner' }),
      ...shared.map((r) => h('p', { class: 'card', text: `${r.measure_title}, ${shortDate(r.submitted_at)}: ${r.total} of ${r.max_total}${r.band ? ` — ${r.band.plain}` : ''}` })));
  }
  root.append(goals);
}
