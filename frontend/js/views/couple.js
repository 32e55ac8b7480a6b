// @ts-check
// One couple, for their therapist: adherence over the weeks the couple has existed (per
// exercise and per partner), the check-in ratings shared with them, the questionnaires (a trend
// per person and measure, risk answers open), a filterable timeline of what happened, the
// practice times planned this week, the next appointment and invitations. Side by side on a
// desktop.
import * as api from '../api.js';
import { dayLabel, smallMultiples, weekBars } from '../charts.js';
import { addDays, dateTime, empty, h, mondayOf, nextId, shortDate, title, todayIn, weekLabel } from '../ui.js';
import { appointmentPanel } from './appointment.js';
import { questionnairePanel } from './couple-measures.js';
import { invitationsPanel } from './invite.js';
import { loadSlots, plannedTimes } from './slots.js';

/** @type {[RatingKey, string][]} */
export const RATINGS = [
  ['closeness', 'Closeness'],
  ['enjoyment', 'Enjoyment'],
  ['comfort', 'Comfort'],
  ['anxiety', 'Anxiety'],
];

/** @param {Person[]} partners @returns {Record<Uuid, string>} */
export function namesOf(partners) {
  return Object.fromEntries(partners.map((p) => [p.user_id, p.display_name]));
}

// --- adherence -------------------------------------------------------------------------------

/** @param {string} caption @param {HistoryWeek[]} weeks @param {(w: HistoryWeek) => Count & { disputed?: number, withdrawn?: number }} pick */
function bars(caption, weeks, pick, size = {}) {
  const data = weeks.map((w) => ({ week: w.week_start, ...pick(w) }));
  return weekBars({
    ...size,
    title: caption,
    weeks: data.map((d) => ({ ...d, label: dayLabel(Date.parse(`${d.week}T12:00:00Z`)) })),
    table: {
      caption,
      columns: ['Week of', 'Done', 'Target', 'Disputed', 'Withdrawn'],
      rows: data.map((d) => [d.week, d.done, d.target, d.disputed || 0, d.withdrawn || 0]),
    },
  });
}

// Small charts draw in a smaller box, so their text keeps a readable size.
const SMALL = { width: 230, height: 120 };
/** @param {ItemWeek[]} list @param {'done' | 'target' | 'disputed' | 'withdrawn'} key */
const sum = (list, key) => list.reduce((n, x) => n + (x[key] || 0), 0);

// Adherence, in all and per partner and per exercise; the weeks come oldest first.
/** @param {HistoryWeek[]} weeks @param {Person[]} partners */
export function adherenceCharts(weeks, partners) {
  if (!weeks.some((w) => w.target)) return [empty('No published plan in these weeks yet.')];
  const total = bars('Sessions done against target, all exercises', weeks, (w) => ({
    done: w.done, target: w.target, disputed: sum(w.items, 'disputed'), withdrawn: sum(w.items, 'withdrawn'),
  }));
  const people = partners.map((p) => h('div', { class: 'small-chart' },
    h('h4', { text: p.display_name }),
    bars(`${p.display_name}: sessions done against target`, weeks, (w) => {
      const mine = w.partners.find((x) => x.user_id === p.user_id) || { done: 0, target: 0 };
      return { done: mine.done, target: mine.target };
    }, SMALL)));
  /** @type {Map<Uuid, string>} */
  const exercises = new Map();
  for (const w of weeks) for (const item of w.items) if (!exercises.has(item.exercise_id)) exercises.set(item.exercise_id, item.title);
  const perExercise = [...exercises].map(([id, name]) => h('div', { class: 'small-chart' },
    h('h4', { text: name }),
    bars(`${name}: sessions done against target`, weeks, (w) => {
      const items = w.items.filter((i) => i.exercise_id === id);
      return { done: sum(items, 'done'), target: sum(items, 'target'), disputed: sum(items, 'disputed'), withdrawn: sum(items, 'withdrawn') };
    }, SMALL)));
  return [
    total,
    h('h3', { text: 'By partner' }),
    h('div', { class: 'chart-grid' }, people),
    h('h3', { text: 'By exercise' }),
    h('div', { class: 'chart-grid' }, perExercise),
  ];
}

// --- ratings ---------------------------------------------------------------------------------

/** @param {RatingPoint[]} ratings @param {Person[]} partners */
export function ratingCharts(ratings, partners) {
  if (!ratings.length) return empty('No ratings shared with you in these weeks.');
  const names = namesOf(partners);
  const authors = partners.filter((p) => ratings.some((r) => r.author_id === p.user_id));
  const series = authors.map((p) => ({ label: p.display_name }));
  const panels = RATINGS.map(([key, label]) => ({
    title: label,
    series: authors.map((p) => ({
      label: p.display_name,
      points: ratings.filter((r) => r.author_id === p.user_id && r.ratings[key] !== null && r.ratings[key] !== undefined)
        .map((r) => ({ x: Date.parse(r.at), y: Number(r.ratings[key]) })),
    })),
  }));
  /** @param {unknown} v */
  const show = (v) => (v === null || v === undefined ? '–' : String(v));
  return smallMultiples({
    title: 'Check-in ratings over time, 0 to 10, one panel per rating',
    panels,
    series,
    table: {
      caption: 'Check-in ratings shared with you',
      columns: ['Date', 'Partner', ...RATINGS.map(([, label]) => label)],
      rows: ratings.map((r) => [dateTime(r.at), names[r.author_id] || 'A former partner', ...RATINGS.map(([key]) => show(r.ratings[key]))]),
    },
  });
}

// --- timeline --------------------------------------------------------------------------------

/** @type {[string, string, EventKind[]][]} */
const GROUPS = [
  ['sessions', 'Sessions', ['logged', 'confirmed']],
  ['problems', 'Disputes and withdrawals', ['disputed', 'withdrawn']],
  ['notes', 'Notes', ['note']],
  ['checkins', 'Check-ins', ['checkin']],
  ['prep', 'Preparation', ['prep']],
  ['plans', 'Plans and appointments', ['plan_published', 'appointment']],
  ['members', 'Joining and leaving', ['joined', 'left']],
];

/** @type {Record<string, string>} */
const STATUS = { awaiting_partner: 'waiting for confirmation', disputed: 'disputed', withdrawn: 'withdrawn', done: 'done' };

/** @param {Ratings | null | undefined} ratings */
function ratingText(ratings) {
  if (!ratings) return '';
  return RATINGS.filter(([key]) => ratings[key] !== null && ratings[key] !== undefined)
    .map(([key, label]) => `${label} ${ratings[key]}`).join(' · ');
}

/** @param {TimelineEvent} e @param {Record<Uuid, string>} names */
export function eventSentence(e, names) {
  const who = (e.actor_id && names[e.actor_id]) || 'A partner';
  const day = e.done_on ? ` (${shortDate(e.done_on)})` : '';
  switch (e.kind) {
    case 'logged': return `${who} logged ${e.title}${day}${e.status !== 'done' ? `, now ${STATUS[e.status || '']}` : ''}`;
    case 'confirmed': return `${who} confirmed ${e.title}${day}`;
    case 'disputed': return `${who} said ${e.title}${day} didn't happen`;
    case 'withdrawn':
      if (e.closed === 'author_left') return `${who}’s log of ${e.title}${day} was closed: they left the couple`;
      if (e.closed === 'partner_left') return `${who}’s log of ${e.title}${day} was closed: the partner it waited for left`;
      return `${who} withdrew the log of ${e.title}${day}`;
    case 'note': return `${who} shared a note ${e.visibility === 'care_team' ? 'with you and their partner' : 'with you'}`;
    case 'checkin': return `${who} checked in${ratingText(e.ratings) ? `: ${ratingText(e.ratings)}` : ''}`;
    case 'prep': return `${who} shared preparation (${e.count} ${e.count === 1 ? 'section' : 'sections'})`;
    case 'plan_published': return 'The week’s plan was published';
    case 'appointment': return 'Appointment';
    case 'joined': return `${who} joined`;
    case 'left': return `${who} left the couple`;
    default: return 'Something happened';
  }
}

/** @param {TimelineEvent} e @param {Record<Uuid, string>} names @param {Uuid} coupleId */
function eventItem(e, names, coupleId) {
  return h('li', { class: `event ${e.kind}`, 'data-kind': e.kind },
    h('p', { class: 'meta' }, h('time', { datetime: e.at, text: dateTime(e.at) })),
    h('p', { class: 'what', text: eventSentence(e, names) }),
    e.reason ? h('p', { class: 'reason' }, h('strong', { text: 'What they said: ' }), e.reason) : null,
    e.obstacles ? h('p', {}, h('strong', { text: 'What got in the way: ' }), e.obstacles) : null,
    e.text ? h('p', { class: 'body', text: e.text }) : null,
    e.kind === 'prep' ? h('p', {}, h('a', { href: `#/couple/${coupleId}/prep`, text: 'Read the preparation' })) : null);
}

/** @param {TimelineEvent[]} events @param {Person[]} partners @param {Uuid} coupleId */
export function timeline(events, partners, coupleId) {
  const names = namesOf(partners);
  const count = h('p', { class: 'hint', role: 'status' });
  const list = h('div', { class: 'timeline' });
  /** @type {[EventKind[], HTMLInputElement, HTMLLabelElement][]} */
  const boxes = GROUPS.map(([key, label, kinds]) => {
    const id = nextId('kind');
    const input = h('input', { type: 'checkbox', id, value: key, checked: true });
    return [kinds, input, h('label', { class: 'check' }, input, h('span', { text: label }))];
  });
  const who = h('select', { class: 'input', id: nextId('who') },
    h('option', { value: '', text: 'Everyone' }),
    partners.map((p) => h('option', { value: p.user_id, text: p.display_name })));
  function update() {
    const kinds = new Set(boxes.filter(([, input]) => input.checked).flatMap(([k]) => k));
    const shown = events.filter((e) => kinds.has(e.kind) && (!who.value || e.actor_id === who.value));
    /** @type {Map<LocalDate, TimelineEvent[]>} */
    const weeks = new Map();
    for (const e of shown) {
      if (!weeks.has(e.week_start)) weeks.set(e.week_start, []);
      weeks.get(e.week_start)?.push(e);
    }
    list.replaceChildren(...[...weeks].map(([week, items]) => h('section', { class: 'week-events', 'aria-label': `Week of ${weekLabel(week)}` },
      h('h3', { text: `Week of ${weekLabel(week)}` }),
      h('ul', { class: 'plain events' }, items.map((e) => eventItem(e, names, coupleId))))));
    if (!shown.length) list.append(empty(events.length ? 'Nothing matches these filters.' : 'Nothing has happened yet.'));
    count.textContent = `${shown.length} of ${events.length} events shown`;
  }
  for (const [, input] of boxes) input.addEventListener('change', update);
  who.addEventListener('change', update);
  update();
  return h('div', { class: 'stack' },
    h('fieldset', { class: 'filters' }, h('legend', { text: 'Show' }), boxes.map(([, , label]) => label)),
    h('div', { class: 'field' }, h('label', { for: who.id, text: 'Who' }), who),
    count,
    list);
}

// --- the page --------------------------------------------------------------------------------

// The answer; null for a 404; {error} for anything else.
/** @param {string} path @returns {Promise<any>} */
async function optional(path) {
  try {
    return await api.get(path);
  } catch (error) {
    if (api.statusOf(error) === 404) return null;
    return { error: api.messageOf(error) };
  }
}

// This week's sessions disputed (with what was said) or closed because a partner left.
/** @param {Plan | null} plan @param {Record<Uuid, string>} names */
function disputesSection(plan, names) {
  const rows = [];
  for (const item of (plan && plan.items) || []) {
    for (const log of item.sessions || []) {
      const by = names[log.logged_by] || 'A partner';
      const what = `${by} logged “${item.title}” for ${shortDate(log.done_on)}; `;
      if (log.status === 'disputed') {
        rows.push(h('li', { class: 'card' }, h('p', { text: `${what}${names[log.disputed_by || ''] || 'the other partner'} said it didn't happen${log.dispute_reason ? ':' : '.'}` }),
          log.dispute_reason ? h('blockquote', { class: 'reason', text: log.dispute_reason }) : null));
      } else if (log.withdrawn_reason) {
        rows.push(h('li', { class: 'card', text: `${what}it was closed because ${log.withdrawn_reason === 'author_left' ? by : 'the other partner'} left the couple.` }));
      }
    }
  }
  return rows.length ? h('section', { class: 'card', 'aria-labelledby': 'disputes' }, h('h2', { id: 'disputes', text: 'Sessions disputed or closed this week' }), h('ul', { class: 'plain' }, rows)) : null;
}

/** @param {string} id @param {string} heading @param {Child[]} children */
function section(id, heading, ...children) {
  return h('section', { class: 'card', 'aria-labelledby': id }, h('h2', { id, text: heading }), ...children);
}

/** @type {View} */
export async function render(root, { params }) {
  const id = /** @type {Uuid} */ (params[0]);
  root.classList.add('wide');
  /** @type {[Couple, Timeline]} */
  const [couple, history] = await Promise.all([
    api.get(api.path`/api/couples/${id}`),
    api.get(api.path`/api/couples/${id}/timeline`),
  ]);
  const thisWeek = mondayOf(todayIn(couple.timezone));
  const former = couple.former_members || [];
  const names = Object.fromEntries([...former, ...(couple.members || [])].map((m) => [m.user_id, m.display_name]));
  const partners = (couple.members || []).filter((m) => m.role === 'partner');
  const left = former.filter((m) => m.role === 'partner');
  const here = `#/couple/${encodeURIComponent(id)}`;
  root.append(
    title(couple.label),
    // The partners' names, unless the label already is just that.
    ...(partners.length && partners.map((p) => p.display_name).join(' & ') === couple.label
      ? []
      : [h('p', { class: 'lead', text: partners.length ? partners.map((p) => p.display_name).join(' & ') : 'No partner has joined yet.' })]),
    ...(left.length
      ? [h('p', { class: 'card note-from', role: 'note', text: left.map((m) => `${m.display_name} left the couple on ${shortDate(m.left_at)}.`).join(' ') })]
      : []),
    h('div', { class: 'actions' },
      h('a', { href: `${here}/plan/${thisWeek}`, class: 'button primary', text: 'This week’s plan' }),
      h('a', { href: `${here}/plan/${addDays(thisWeek, 7)}`, class: 'button secondary', text: 'Next week' }),
      h('a', { href: `${here}/brief`, class: 'button secondary', text: 'Session brief' }),
      h('a', { href: `${here}/measures`, class: 'button secondary', text: 'Questionnaires & goals' })));
  const [appointment, flags, plan, slots] = await Promise.all([
    appointmentPanel(id),
    optional(api.path`/api/couples/${id}/risk-flags`),
    optional(api.path`/api/couples/${id}/plans/current`),
    loadSlots(id, thisWeek),
  ]);
  const questionnaires = await questionnairePanel(id, names, Array.isArray(flags) ? flags : []);
  if (Array.isArray(flags) && flags.length) {
    root.append(h('p', { class: 'card risk', role: 'alert' }, h('a', { href: `#/couple/${encodeURIComponent(id)}/measures`, text: `${flags.length} questionnaire ${flags.length === 1 ? 'answer needs' : 'answers need'} your attention` })));
  }
  const since = `Since ${shortDate(history.since)}, the weeks this couple has been in Tandem (up to a year).`;
  root.append(h('div', { class: 'workspace-grid' },
    h('div', { class: 'column' },
      section('adh', 'Adherence', h('p', { class: 'hint', text: since }), adherenceCharts(history.weeks, history.partners)),
      section('ratings-h', 'Check-in ratings', h('p', { class: 'hint', text: 'Only check-ins shared with you.' }), ratingCharts(history.ratings, history.partners)),
      section('measures-h', 'Questionnaires', h('p', { class: 'hint', text: 'Each partner’s scores, with the questionnaire’s bands behind them. Only you see these.' }), ...questionnaires)),
    h('div', { class: 'column' },
      appointment,
      section('times-h', 'Practice times this week', h('p', { class: 'hint', text: 'What the partners agreed or suggested, as they planned it.' }), plannedTimes(slots, plan && !plan.error ? plan : null, names, couple.timezone)),
      disputesSection(plan, names),
      section('timeline-h', 'What happened', timeline(history.events, history.partners, id)),
      section('invites', 'Invitations',
        partners.length < 2 ? invitationsPanel(id, ['partner']) : h('p', { class: 'hint', text: 'Both partners have joined.' })))));
}
