// @ts-check
// #/couple/<id>/brief[/<from>/<to>]: one page before the appointment. What the partners
// prepared, the weeks since the last appointment (with the practice times they planned), the
// latest questionnaire results and goals, check-in trends and shared notes; printed (or saved
// as a PDF) with the couple and the dates in every page's header.
import * as api from '../api.js';
import { dataTable, dayLabel, weekBars } from '../charts.js';
import { busy, dateTime, empty, field, h, shortDate, title } from '../ui.js';
import { pageHeader, rangeLabel } from '../print.js';
import { eventSentence, namesOf, RATINGS, ratingCharts } from './couple.js';
import { bandWords, changeWords, LEVEL_WORDS, signedLevel } from './couple-measures.js';
import { SECTIONS } from './prep.js';
import { practiceTimeRow } from './slots.js';

const DATE = /^\d{4}-\d{2}-\d{2}$/;

// "16 Nov": a week by its Monday, short enough for a table's first column on a phone.
/** @param {LocalDate} weekStart */
const weekOf = (weekStart) => dayLabel(Date.parse(`${weekStart}T12:00:00Z`));

/** @param {string} id @param {string} heading @param {Child[]} children */
function section(id, heading, ...children) {
  return h('section', { class: 'brief-section', 'aria-labelledby': id }, h('h2', { id, text: heading }), ...children);
}

/** @typedef {Record<Uuid, string>} Names */
/** @param {Brief} brief @param {Names} names */
function preparation(brief, names) {
  if (!brief.appointment) return [empty('No appointment is booked, so there is nothing to prepare for.')];
  if (!brief.preparation.length) return [empty('Neither partner has shared any preparation with you for this appointment.')];
  return brief.preparation.map((entry) => h('article', { class: 'prep-entry' },
    h('h3', { text: `From ${names[entry.author_id] || 'a former partner'}` }),
    h('dl', { class: 'facts' }, entry.sections.map((s) => h('div', {},
      h('dt', { text: (SECTIONS[s.key] || [s.key])[0] }),
      h('dd', { class: 'body', text: s.text }))))));
}

/** @param {HistoryWeek[]} weeks @param {Names} names */
function weeksTable(weeks, names) {
  const rows = [];
  for (const w of weeks) {
    for (const item of w.items) {
      const people = item.partners.map((p) => `${names[p.user_id] || 'Partner'} ${p.done}/${p.target}`).join(', ');
      rows.push([weekOf(w.week_start), item.title, `${item.done}/${item.target}`,
        item.mode === 'joint' ? 'together' : people, [item.disputed && `${item.disputed} disputed`, item.withdrawn && `${item.withdrawn} withdrawn`, item.awaiting && `${item.awaiting} waiting`].filter(Boolean).join(', ') || '–']);
    }
  }
  if (!rows.length) return empty('No published plan in these weeks.');
  return dataTable({ caption: 'Sessions per exercise and week', columns: ['Week of', 'Exercise', 'Done', 'Who', 'Also'], rows, visible: true });
}

/** @param {Brief} brief @param {Names} names */
function adherence(brief, names) {
  const weeks = brief.weeks;
  /** @param {ItemWeek[]} list @param {'disputed' | 'withdrawn'} key */
  const sum = (list, key) => list.reduce((n, x) => n + (x[key] || 0), 0);
  const chart = weeks.some((w) => w.target)
    ? weekBars({
      title: 'Sessions done against target per week',
      weeks: weeks.map((w) => ({ label: dayLabel(Date.parse(`${w.week_start}T12:00:00Z`)), done: w.done, target: w.target, disputed: sum(w.items, 'disputed'), withdrawn: sum(w.items, 'withdrawn') })),
      table: { caption: 'Sessions per week', columns: ['Week of', 'Done', 'Target'], rows: weeks.map((w) => [w.week_start, w.done, w.target]) },
    })
    : null;
  const problems = brief.sessions.length
    ? h('ul', { class: 'plain events' }, brief.sessions.map((e) => h('li', { class: 'event' },
      h('p', { class: 'what', text: `${shortDate(e.at)}: ${eventSentence(e, names)}` }),
      e.reason ? h('p', { class: 'reason' }, h('strong', { text: 'What they said: ' }), e.reason)
        : e.kind === 'disputed' ? h('p', { class: 'hint', text: 'Nothing said about why.' }) : null)))
    : h('p', { class: 'hint', text: 'No disputed or withdrawn sessions.' });
  return [chart, weeksTable(weeks, names), ...practiceTimes(brief, names), h('h3', { text: 'Disputes and withdrawals' }), problems];
}

// The times the partners agreed (or one suggested) in these weeks: context for adherence.
/** @param {Brief} brief @param {Names} names */
function practiceTimes(brief, names) {
  const heading = h('h3', { text: 'Practice times they planned' });
  if (!brief.practice_times.length) return [heading, h('p', { class: 'hint', text: 'No practice time agreed or suggested in these weeks.' })];
  return [heading, dataTable({
    caption: `Practice times, in the couple’s time zone (${brief.timezone})`,
    columns: ['Week of', 'When', 'Exercise', 'Status'],
    rows: brief.practice_times.map((slot) => [weekOf(slot.week_start), ...practiceTimeRow(slot, names, brief.timezone)]),
    visible: true,
  })];
}

// Each partner's latest score per questionnaire against their first, in plain words; the
// goals with the level last reached.
/** @param {Brief} brief @param {Names} names @param {Uuid} id @param {Uuid} me */
function questionnaires(brief, names, id, me) {
  /** @param {Uuid | null} who */
  const rater = (who) => (who === me ? 'you' : who === null ? 'someone whose account is gone' : names[who] || 'a previous therapist');
  const order = Object.keys(names);
  const measures = [...brief.measures].sort((a, b) => order.indexOf(a.respondent_id) - order.indexOf(b.respondent_id) || a.measure_title.localeCompare(b.measure_title));
  const results = measures.length
    ? dataTable({
      caption: 'Questionnaires: the latest score of each partner',
      columns: ['Partner', 'Questionnaire', 'Latest', 'In plain words', 'Change'],
      rows: measures.map((m) => [
        names[m.respondent_id] || 'A former partner',
        m.measure_title,
        `${m.total} of ${m.max_total} (${shortDate(m.submitted_at)})${m.risk ? ' · a risk answer' : ''}`,
        m.band ? bandWords(m.band) : '–',
        m.change === null ? 'First answer' : `${changeWords(m, m.change)} (${m.first_total} on ${shortDate(m.first_at)}, ${m.count} answers)`,
      ]),
      visible: true,
    })
    : empty('No questionnaire answered for you yet.');
  const goals = brief.goals.length
    ? dataTable({
      caption: 'Goals (Goal Attainment Scaling)',
      columns: ['Goal', 'Whose', 'Latest level', 'Rated'],
      rows: brief.goals.map((g) => {
        const last = g.ratings[g.ratings.length - 1];
        const level = last ? String(last.level) : null;
        return [
          g.title,
          g.owner_id ? names[g.owner_id] || 'A former partner' : 'The couple',
          level === null ? 'Not rated yet' : `${signedLevel(last.level)} ${LEVEL_WORDS[level].toLowerCase()}: ${g.levels[level]}`,
          last ? `${shortDate(last.rated_at)}, by ${rater(last.rated_by)}` : '–',
        ];
      }),
      visible: true,
    })
    : empty('No goals set yet.');
  const t = brief.goal_attainment;
  return [
    results,
    h('h3', { text: 'Goals' }),
    t && t.t_score !== null ? h('p', { text: `GAS T-score ${t.t_score.toFixed(1)} (50: the goals met as expected; ${t.rated} of ${t.goals} rated).` }) : null,
    goals,
    h('p', { class: 'no-print links' }, h('a', { href: `#/couple/${id}/measures`, text: 'Answers item by item, and rating goals' })),
  ];
}

/** @param {Brief} brief @param {Names} names */
function trends(brief, names) {
  const label = Object.fromEntries(RATINGS);
  const summary = brief.rating_summary.length
    ? dataTable({
      caption: 'Check-in ratings, 0 to 10',
      columns: ['Partner', 'Rating', 'Check-ins', 'First → last', 'Range', 'Mean'],
      rows: brief.rating_summary.map((s) => [names[s.author_id] || 'A former partner', label[s.key], s.count, `${s.first} → ${s.last}`, `${s.low}–${s.high}`, s.mean.toFixed(1)]),
      visible: true,
    })
    : null;
  return [ratingCharts(brief.ratings, brief.partners), summary];
}

/** @param {Brief} brief @param {Names} names */
function shared(brief, names) {
  /** @type {{ at: Instant, who: Uuid, kind: string, body: string | null, ratings?: string, obstacles?: string | null }[]} */
  const entries = [
    ...brief.notes.map((n) => ({ at: n.created_at, who: n.author_id, kind: 'Note', body: n.body })),
    ...brief.checkins.map((c) => ({
      at: c.created_at,
      who: c.author_id,
      kind: 'Check-in',
      ratings: RATINGS.filter(([k]) => c.ratings[k] !== null && c.ratings[k] !== undefined).map(([k, l]) => `${l} ${c.ratings[k]}`).join(' · '),
      obstacles: c.obstacles,
      body: c.text,
    })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  if (!entries.length) return [empty('Nothing shared with you in these dates.')];
  return entries.map((e) => h('article', { class: 'entry shared-entry' },
    h('p', { class: 'meta', text: `${e.kind} · ${names[e.who] || 'A former partner'} · ${dateTime(e.at)}` }),
    e.ratings ? h('p', { text: e.ratings }) : null,
    e.obstacles ? h('p', {}, h('strong', { text: 'What got in the way: ' }), e.obstacles) : null,
    e.body ? h('p', { class: 'body', text: e.body }) : null));
}

/** @param {Uuid} id @param {Brief} brief @param {Shell['go']} go */
function rangeForm(id, brief, go) {
  const from = h('input', { class: 'input', type: 'date', required: true, value: brief.since, max: brief.until });
  const to = h('input', { class: 'input', type: 'date', required: true, value: brief.until });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'secondary', text: 'Show these dates' });
  return h('form', {
    class: 'no-print range',
    onsubmit: (event) => {
      event.preventDefault();
      busy(button, async () => {
        if (!DATE.test(from.value) || !DATE.test(to.value)) throw new Error('Choose both dates.');
        if (from.value > to.value) throw new Error('The first day must be on or before the last day.');
        go(`couple/${id}/brief/${from.value}/${to.value}`);
      }, errors);
    },
  }, h('div', { class: 'row' }, field('From', from), field('To', to)), errors,
  h('div', { class: 'actions' }, button,
    h('button', { type: 'button', class: 'primary', text: 'Print or save as PDF', onclick: () => window.print() }),
    h('a', { href: `#/couple/${id}`, class: 'button secondary', text: 'Back to the couple' })));
}

/** @type {View} */
export async function render(root, { params, go, state }) {
  const [id, since, until] = /** @type {[Uuid, LocalDate?, LocalDate?]} */ (params);
  root.classList.add('wide', 'printable');
  const query = since && until ? `?from=${since}&to=${until}` : '';
  /** @type {Brief} */
  const brief = await api.get(api.path`/api/couples/${id}/brief` + query);
  const names = namesOf(brief.partners);
  const range = rangeLabel(brief.since, brief.until);
  pageHeader(`${brief.label} · Session brief · ${range}`);
  const partners = brief.partners.filter((p) => !p.left_at).map((p) => p.display_name).join(' & ');
  root.append(
    h('header', { class: 'print-head' },
      title('Session brief'),
      h('p', { class: 'lead' }, h('strong', { text: brief.label }), partners && partners !== brief.label ? ` · ${partners}` : '', ` · ${range}`),
      h('p', { text: brief.appointment ? `For the appointment on ${dateTime(brief.appointment.starts_at)}${brief.appointment.note ? ` (${brief.appointment.note})` : ''}.` : 'No appointment booked yet.' }),
      h('p', { class: 'hint', text: brief.last_appointment ? `Since the last appointment, on ${dateTime(brief.last_appointment.starts_at)}.` : 'There has been no appointment in Tandem before these dates.' }),
      h('p', { class: 'hint', text: 'Only what the partners chose to share with you. Reading this brief is recorded in their access log.' })),
    rangeForm(id, brief, go),
    section('brief-prep', 'What the partners prepared', ...preparation(brief, names)),
    section('brief-weeks', brief.last_appointment ? 'The weeks since the last appointment' : 'The weeks in these dates', ...adherence(brief, names)),
    section('brief-measures', 'Questionnaires and goals', ...questionnaires(brief, names, id, state.user.id)),
    section('brief-trends', 'Check-in trends', ...trends(brief, names)),
    section('brief-shared', 'Notes and check-ins shared with you', ...shared(brief, names)));
}
