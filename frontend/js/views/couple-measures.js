// @ts-check
// Questionnaires and goals of one couple, for their therapist: risk flags to clear, assigning,
// results per person and measure (chart with a table, answers item by item), goals and ratings.
import * as api from '../api.js';
import { lineChart } from '../charts.js';
import { busy, checkbox, confirmDialog, empty, errorBox, field, h, inputOf, say, shortDate, title, valueIn } from '../ui.js';

/** @type {Record<string, string>} */
const CADENCE = { once: 'Once', weekly: 'Every week', biweekly: 'Every two weeks', before_appointment: 'The day before each appointment' };
const LEVELS = ['-2', '-1', '0', '1', '2'];
// "+1", "0", "−2" (a true minus sign).
/** @param {number} level */
export const signedLevel = (level) => (level > 0 ? `+${level}` : level < 0 ? `−${-level}` : '0');
// "Some signs of low mood (mild)": a band in plain words, then its clinical name.
/** @param {Band} band */
export const bandWords = (band) => (band.plain && band.plain !== band.label ? `${band.plain} (${band.label.toLowerCase()})` : band.label);
/** @type {Record<string, string>} */
export const LEVEL_WORDS = { '-2': 'Much less than expected', '-1': 'Less than expected', 0: 'Expected', 1: 'More than expected', 2: 'Much more than expected' };
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

// One person's scores on one questionnaire over time (oldest first), with the questionnaire's
// bands behind them; `small` for the couple's page. The table beside it reads the same.
/** @param {string} name @param {Measure | undefined} measure @param {MeasureResult[]} rows @param {{ small?: boolean }} [options] */
export function scoreTrend(name, measure, rows, { small = false } = {}) {
  const last = rows[rows.length - 1];
  const caption = `${name}: ${last.measure_title} scores over time`;
  const yMin = measure && typeof measure.scoring.min === 'number' ? measure.scoring.min : 0;
  const yMax = Math.max(last.max_total, yMin + 1);
  return lineChart({
    title: caption,
    series: [{ label: name, points: rows.map((r) => ({ x: Date.parse(r.submitted_at), y: r.total })) }],
    table: {
      caption,
      columns: ['Date', 'Score', 'Band'],
      rows: rows.map((r) => [shortDate(r.submitted_at), `${r.total} of ${r.max_total}`, r.band ? r.band.label : '–']),
    },
    bands: (measure && measure.scoring.bands) || [],
    bandLabels: !small,
    yMin,
    yMax,
    yTicks: small ? [yMin, yMax] : [yMin, Math.round((yMin + yMax) / 2), yMax],
    ...(small ? { width: 230, height: 110, className: 'small-trend' } : {}),
  });
}

// "improved (−8 since the first)"; the words only where the questionnaire defines a reliable
// change.
/** @param {{ reliable_change?: string | null }} r @param {number | null} change */
export function changeWords(r, change) {
  if (change === null) return 'first answer';
  const amount = `${change > 0 ? '+' : change < 0 ? '−' : '±'}${Math.abs(change)} since the first`;
  return r.reliable_change ? `${amount}: ${r.reliable_change}` : amount;
}

/** @param {string} name @param {Measure | undefined} measure @param {MeasureResult[]} rows */
function resultsFor(name, measure, rows) {
  const last = rows[rows.length - 1];
  return h('article', { class: 'card' },
    h('h3', { text: `${name} · ${last.measure_title}` }),
    h('p', {}, h('strong', { text: `Latest ${last.total} of ${last.max_total}` }), last.band ? ` — ${bandWords(last.band)}` : '',
      rows.length > 1 ? h('span', { class: 'hint', text: ` · ${changeWords(last, last.total - rows[0].total)}` }) : null),
    scoreTrend(name, measure, rows),
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
      h('p', { text: latest ? `Latest: ${signedLevel(latest.level)} (${g.levels[String(latest.level)]}), ${shortDate(latest.rated_at)}` : 'Not rated yet.' }),
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
  // Partners in the couple's order; someone who left after them.
  /** @param {MeasureResult} r */
  const order = (r) => (partners.findIndex((p) => p.user_id === r.respondent_id) + partners.length + 1) % (partners.length + 1);
  root.append(title(`Questionnaires · ${couple.label}`),
    h('p', { class: 'links' }, h('a', { href: `#/couple/${id}`, text: `Back to ${couple.label}` })));
  const flagged = flagsSection(flags, names, byKey, rerender);
  if (flagged) root.append(flagged);
  root.append(h('section', { 'aria-labelledby': 'results-h' }, h('h2', { id: 'results-h', text: 'Results' }),
    results.length ? Object.values(results.reduce((g, r) => ((g[`${r.respondent_id} ${r.measure_key}`] ||= []).push(r), g), /** @type {Record<string, MeasureResult[]>} */ ({})))
      .sort((a, b) => order(a[0]) - order(b[0]) || a[0].measure_title.localeCompare(b[0].measure_title))
      .map((rows) => resultsFor(names[rows[0].respondent_id] || 'A former partner', byKey[rows[0].measure_key], rows))
      : empty('No answers yet.')));
  root.append(h('h2', { text: 'Assigned' }), assignmentList(assignments, names, rerender));
  if (partners.length) root.append(assignForm(id, measures, partners, rerender));
  root.append(goalsSection(id, goals, t, partners, names, rerender));
}

// --- on the couple's page ------------------------------------------------------------------------

// Each partner's trend per questionnaire (small, with its bands) and the risk answers still
// open: what the couple's page shows of the questionnaires. Only the therapist reaches it (the
// route and every call it makes are the therapist's).
/** @param {Uuid} id @param {Record<Uuid, string>} names @param {RiskFlag[]} flags */
export async function questionnairePanel(id, names, flags) {
  /** @type {[MeasureResult[], Measure[]]} */
  let loaded;
  try {
    loaded = await Promise.all([api.get(api.path`/api/couples/${id}/measure-results`), api.get('/api/measures')]);
  } catch (error) {
    if (api.statusOf(error) === 401) throw error;
    return [errorBox(`The questionnaires couldn’t be loaded. ${api.messageOf(error)}`)];
  }
  const [results, measures] = loaded;
  const byKey = Object.fromEntries(measures.map((m) => [m.key, m]));
  const here = `#/couple/${encodeURIComponent(id)}/measures`;
  const open = flags.length
    ? h('div', { class: 'risk-list', role: 'alert' },
      h('h3', { text: flags.length === 1 ? 'A risk answer to follow up' : `${flags.length} risk answers to follow up` }),
      h('ul', { class: 'plain' }, flags.map((f) => h('li', {},
        `${names[f.respondent_id] || 'A former partner'}: ${byKey[f.measure_key] ? byKey[f.measure_key].title : 'a questionnaire'}, ${shortDate(f.raised_at)} `,
        h('a', { href: here, text: 'Review and clear' })))))
    : null;
  /** @type {Map<Uuid, Map<string, MeasureResult[]>>} */
  const people = new Map(Object.keys(names).map((who) => [who, new Map()]));
  for (const r of results) {
    const mine = people.get(r.respondent_id) || new Map();
    people.set(r.respondent_id, mine);
    mine.set(r.measure_key, [...(mine.get(r.measure_key) || []), r]);
  }
  const trends = [...people].filter(([, series]) => series.size).map(([who, series]) => {
    const name = names[who] || 'A former partner';
    return h('div', { class: 'person-trends' },
      h('h3', { text: name }),
      h('div', { class: 'chart-grid' }, [...series.values()].map((rows) => {
        const last = rows[rows.length - 1];
        return h('div', { class: 'small-chart' },
          h('h4', { text: last.measure_title }),
          h('p', { class: 'trend-line' },
            h('strong', { text: `${last.total} of ${last.max_total}` }),
            last.band ? ` · ${last.band.plain || last.band.label}` : '',
            ` · ${shortDate(last.submitted_at)}`,
            rows.length > 1 ? h('span', { class: 'hint', text: ` · ${changeWords(last, last.total - rows[0].total)}` }) : null),
          scoreTrend(name, byKey[last.measure_key], rows, { small: true }));
      })));
  });
  return [
    open,
    ...(trends.length ? trends : [empty('No questionnaire answered yet.')]),
    h('p', { class: 'links' }, h('a', { href: here, text: 'Answers item by item, assigning and goals' })),
  ];
}
