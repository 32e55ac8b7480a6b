// @ts-check
// Questionnaires and goals of one couple, for their therapist: risk flags to clear, assigning,
// results per person and measure (chart with a table, answers item by item), goals and ratings.
import * as api from '../api.js';
import { busy, checkbox, confirmDialog, empty, field, h, inputOf, say, shortDate, title, valueIn } from '../ui.js';
import { lineChart } from './chart.js';

/** @type {Record<string, string>} */
const CADENCE = { once: 'Once', weekly: 'Every week', biweekly: 'Every two weeks', before_appointment: 'The day before each appointment' };
const LEVELS = ['-2', '-1', '0', '1', '2'];
/** @type {Record<string, string>} */
const LEVEL_WORDS = { '-2': 'Much less than expected', '-1': 'Less than expected', 0: 'Expected', 1: 'More than expected', 2: 'Much more than expected' };
/** @param {string} name @param {string[][]} options [value, text] @param {string} label */
const select = (name, options, label) => field(label, h('select', { class: 'input', name }, options.map(([v, t]) => h('option', { value: v, text: t }))));

/**
 * @param {RiskFlag[]} flags @param {Record<Uuid, string>} names @param {Record<string, Measure>} byKey
 * @param {() => Promise<void>} rerender
 */
function flagsSection(flags, names, byKey, rerender) {
  if (!flags.length) return null;
  return h('section', { class: 'card risk', role: 'alert', 'aria-labelledby': 'risk-h' },
    h('h2', { id: 'risk-h', text: 'Answers that need your attention' }),
    h('ul', { class: 'plain' }, flags.map((f) => {
      const clear = h('button', { type: 'button', class: 'secondary', text: 'Clear' });
      clear.addEventListener('click', async () => {
        if (await confirmDialog('Clear this flag?', 'Clear it once you have followed up with this person.', 'Clear')) {
          busy(clear, async () => { await api.post(`/api/risk-flags/${f.id}/clear`); await rerender(); });
        }
      });
      return h('li', {}, h('span', { text: `${names[f.respondent_id] || 'A former partner'}: a risk answer on ${byKey[f.measure_key] ? byKey[f.measure_key].title : 'a questionnaire'}, ${shortDate(f.raised_at)}` }), clear);
    })));
}

/** @param {Uuid} id @param {Measure[]} measures @param {Member[]} partners @param {() => Promise<void>} rerender */
function assignForm(id, measures, partners, rerender) {
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Assign' });
  const who = partners.map((p) => checkbox(p.display_name, { name: 'who', value: p.user_id, checked: true }));
  const overlap = checkbox('Ask more often than the questionnaire’s recall period', { name: 'overlap' });
  const form = h('form', { class: 'card stack', 'aria-labelledby': 'assign-h' },
    h('h2', { id: 'assign-h', text: 'Assign a questionnaire' }),
    select('measure', measures.map((m) => [m.key, m.title]), 'Questionnaire'),
    h('fieldset', {}, h('legend', { text: 'Who answers' }), who),
    select('cadence', Object.entries(CADENCE), 'How often'),
    overlap, errors, h('div', { class: 'actions' }, button),
    h('p', { class: 'links' }, h('a', { href: '#/measures/new', text: 'Make your own questionnaire' })));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(button, async () => {
      const m = /** @type {Measure} */ (measures.find((x) => x.key === valueIn(form, 'measure')));
      const days = /** @type {Record<string, number>} */ ({ weekly: 7, biweekly: 14 })[valueIn(form, 'cadence')];
      if (days && m.recall_days && days < m.recall_days && !inputOf(overlap).checked) {
        throw new Error(`${m.title} asks about the last ${m.recall_days} days, so answers given every ${days} days would overlap. Choose a longer interval, or tick the box below to ask this often anyway.`);
      }
      await api.post(`/api/couples/${id}/measure-assignments`, {
        measure_key: m.key,
        respondent_ids: who.map(inputOf).filter((i) => i.checked).map((i) => i.value),
        cadence: valueIn(form, 'cadence'),
        allow_short_interval: inputOf(overlap).checked,
      });
      say('Assigned.');
      await rerender();
    }, errors);
  });
  return form;
}

/** @param {Assignment[]} assignments @param {Record<Uuid, string>} names @param {() => Promise<void>} rerender */
function assignmentList(assignments, names, rerender) {
  if (!assignments.length) return empty('Nothing assigned yet.');
  return h('ul', { class: 'plain' }, assignments.map((a) => {
    const remove = h('button', { type: 'button', class: 'link', text: 'Stop asking' });
    remove.addEventListener('click', () => busy(remove, async () => { await api.del(`/api/measure-assignments/${a.id}`); await rerender(); }));
    return h('li', {}, h('span', { text: `${a.measure_title} · ${a.respondent_ids.map((r) => names[r]).join(' & ')} · ${CADENCE[a.cadence]}` }), remove);
  }));
}

/** @param {string} name @param {Measure | undefined} measure @param {MeasureResult[]} rows */
function resultsFor(name, measure, rows) {
  const last = rows[rows.length - 1];
  const bands = (measure && measure.scoring.bands) || [];
  return h('article', { class: 'card' },
    h('h3', { text: `${name} · ${last.measure_title}` }),
    h('p', {}, h('strong', { text: `Latest ${last.total} of ${last.max_total}` }), last.band ? ` — ${last.band.label}` : '',
      last.reliable_change ? h('span', { class: 'hint', text: ` · since the first: ${last.reliable_change}` }) : null),
    lineChart(rows.map((r) => ({ x: r.submitted_at, y: r.total, note: r.band ? r.band.label : '' })),
      { label: `${name}: ${last.measure_title} scores over time`, max: last.max_total, bands }),
    h('details', {}, h('summary', { text: 'Answers, item by item' }),
      rows.slice().reverse().map((r) => h('div', {}, h('h4', { text: `${shortDate(r.submitted_at)}: ${r.total}${r.risk ? ' · risk answer' : ''}` }),
        h('ol', {}, (r.answers || []).map((a) => h('li', {}, `${a.text} — `, h('strong', { text: a.label ?? 'no answer' }))))))));
}

/**
 * @param {Uuid} id @param {Goal[]} goals @param {GoalAttainment} t @param {Member[]} partners
 * @param {Record<Uuid, string>} names @param {() => Promise<void>} rerender
 */
function goalsSection(id, goals, t, partners, names, rerender) {
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Add goal' });
  const form = h('form', { class: 'stack' },
    field('Goal', h('input', { class: 'input', name: 'title', required: true, maxlength: 200 })),
    select('owner', [['', 'The couple'], ...partners.map((p) => [p.user_id, p.display_name])], 'Whose goal'),
    LEVELS.map((l) => field(`${l}: ${LEVEL_WORDS[l]}`, h('input', { class: 'input', name: `level${l}`, required: true, maxlength: 500 }))),
    errors, h('div', { class: 'actions' }, button));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(button, async () => {
      await api.post(`/api/couples/${id}/goals`, {
        title: valueIn(form, 'title'),
        owner_id: valueIn(form, 'owner') || null,
        levels: Object.fromEntries(LEVELS.map((l) => [l, valueIn(form, `level${l}`)])),
      });
      await rerender();
    }, errors);
  });
  const list = goals.map((g) => {
    const latest = g.ratings[g.ratings.length - 1];
    const level = h('select', { class: 'input', 'aria-label': `Level reached: ${g.title}` }, LEVELS.map((l) => h('option', { value: l, text: `${l}: ${g.levels[l]}` })));
    level.value = latest ? String(latest.level) : '0';
    const rate = h('button', { type: 'button', class: 'secondary', text: 'Rate' });
    rate.addEventListener('click', () => busy(rate, async () => { await api.post(`/api/goals/${g.id}/ratings`, { level: Number(level.value) }); await rerender(); }));
    return h('li', { class: 'card' }, h('strong', { text: g.title }), h('span', { class: 'hint', text: ` · ${g.owner_id ? names[g.owner_id] : 'the couple'}` }),
      h('p', { text: latest ? `Latest: ${latest.level} (${g.levels[String(latest.level)]}), ${shortDate(latest.rated_at)}` : 'Not rated yet.' }),
      h('div', { class: 'log' }, level, rate));
  });
  return h('section', { 'aria-labelledby': 'goals-h' }, h('h2', { id: 'goals-h', text: 'Goals (Goal Attainment Scaling)' }),
    h('p', { class: 'lead', text: t.t_score === null ? 'No goal rated yet.' : `GAS T-score: ${t.t_score.toFixed(1)} (50 = goals met as expected; ${t.rated} of ${t.goals} goals rated)` }),
    h('ul', { class: 'plain' }, list), h('details', { class: 'card' }, h('summary', { text: 'Add a goal' }), form));
}

/** @type {View} */
export async function render(root, ctx) {
  const id = /** @type {Uuid} */ (ctx.params[0]);
  const rerender = async () => { root.replaceChildren(); await render(root, ctx); };
  /** @type {[Couple, Measure[], Assignment[], MeasureResult[], RiskFlag[], Goal[], GoalAttainment]} */
  const [couple, measures, assignments, results, flags, goals, t] = await Promise.all([
    api.get(`/api/couples/${id}`), api.get('/api/measures'), api.get(`/api/couples/${id}/measure-assignments`),
    api.get(`/api/couples/${id}/measure-results`), api.get(`/api/couples/${id}/risk-flags`),
    api.get(`/api/couples/${id}/goals`), api.get(`/api/couples/${id}/goal-attainment`),
  ]);
  const names = Object.fromEntries(couple.members.map((m) => [m.user_id, m.display_name]));
  const partners = couple.members.filter((m) => m.role === 'partner');
  const byKey = Object.fromEntries(measures.map((m) => [m.key, m]));
  root.append(title(`Questionnaires · ${couple.label}`),
    h('p', { class: 'links' }, h('a', { href: `#/couple/${id}`, text: `Back to ${couple.label}` })));
  const flagged = flagsSection(flags, names, byKey, rerender);
  if (flagged) root.append(flagged);
  root.append(h('section', { 'aria-labelledby': 'results-h' }, h('h2', { id: 'results-h', text: 'Results' }),
    results.length ? Object.values(results.reduce((g, r) => ((g[`${r.respondent_id} ${r.measure_key}`] ||= []).push(r), g), /** @type {Record<string, MeasureResult[]>} */ ({})))
      .map((rows) => resultsFor(names[rows[0].respondent_id] || 'A former partner', byKey[rows[0].measure_key], rows))
      : empty('No answers yet.')));
  root.append(h('h2', { text: 'Assigned' }), assignmentList(assignments, names, rerender));
  if (partners.length) root.append(assignForm(id, measures, partners, rerender));
  root.append(goalsSection(id, goals, t, partners, names, rerender));
}
