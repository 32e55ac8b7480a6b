// @ts-check
// The therapist's home: every couple in one table (one request), sortable and filterable with
// the keyboard, with what needs attention. On a phone the rows become cards.
// Sort and filter live in this module's memory (never in browser storage); the attention
// rules are the therapist's own settings, kept on the server.
import * as api from '../api.js';
import { miniBar } from '../charts.js';
import { busy, empty, field, h, nextId, say, title } from '../ui.js';
import { newCoupleCard } from './couples.js';

/** @type {Record<RatingKey, string>} */
const RATING_LABELS = { closeness: 'Closeness', enjoyment: 'Enjoyment', comfort: 'Comfort', anxiety: 'Anxiety' };
const FILTERS = [
  ['all', 'All couples'],
  ['attention', 'Needing attention'],
  ['waiting', 'Waiting for confirmation'],
  ['disputes', 'With disputes'],
  ['quiet', 'Quiet'],
  ['left', 'A partner left'],
  ['ratings', 'A rating to look at'],
  ['prepared', 'Prepared for the appointment'],
  ['risk', 'Questionnaire answers to review'],
  ['unbooked', 'No appointment booked'],
];
/** @type {Record<string, (c: CoupleRow) => boolean>} */
const MATCH = {
  all: () => true,
  attention: (c) => c.attention > 0,
  waiting: (c) => c.flags.waiting > 0,
  disputes: (c) => c.flags.disputes > 0,
  quiet: (c) => c.flags.quiet_days !== null,
  left: (c) => c.flags.partner_left.length > 0,
  ratings: (c) => c.flags.ratings.length > 0,
  prepared: (c) => c.flags.prepared.length > 0,
  risk: (c) => c.flags.risk > 0,
  unbooked: (c) => !c.next_appointment,
};
/** @param {Count} count */
const ratio = (count) => (count && count.target ? count.done / count.target : -1);
/** @param {Instant | null | undefined} iso */
const time = (iso) => (iso ? Date.parse(iso) : null);
/** @type {[string, string, (c: CoupleRow) => string | number | null][]} */
const COLUMNS = [
  ['label', 'Couple', (c) => c.label.toLocaleLowerCase()],
  ['appointment', 'Next appointment', (c) => time(c.next_appointment && c.next_appointment.starts_at)],
  ['week', 'This week', (c) => (c.this_week ? ratio(c.this_week.total) : null)],
  ['attention', 'Needs attention', (c) => c.attention],
  ['activity', 'Last activity', (c) => time(c.last_activity_at)],
];

// One formatter for 200 rows: making one per date costs more than drawing the row.
const formatter = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
/** @param {Instant} iso */
const dateTime = (iso) => formatter.format(new Date(iso));

// What this screen remembers while the app is open.
const view = { sort: 'attention', descending: true, filter: 'all', search: '' };

/** @param {Instant | null} iso */
export function relativeDay(iso, now = new Date()) {
  if (!iso) return 'None yet';
  /** @param {Date} d */
  const day = (d) => Date.UTC(d.getFullYear(), d.getMonth(), d.getDate());
  const days = Math.round((day(now) - day(new Date(iso))) / 86400000);
  if (days <= 0) return 'Today';
  if (days === 1) return 'Yesterday';
  if (days < 14) return `${days} days ago`;
  return `${Math.floor(days / 7)} weeks ago`;
}

/** @param {CoupleRow} couple */
function names(couple) {
  return couple.partners.map((p) => p.display_name).join(' & ');
}

/** @param {string} text */
function chip(text, tone = '') {
  return h('li', { class: `chip ${tone}`.trim(), text });
}

/** @param {CoupleRow} couple @param {{ waiting_days: number }} rules */
function flagChips(couple, rules) {
  const f = couple.flags;
  const who = Object.fromEntries(couple.partners.map((p) => [p.user_id, p.display_name]));
  const chips = [];
  if (f.risk) chips.push(chip(`${f.risk} questionnaire ${f.risk === 1 ? 'answer needs' : 'answers need'} your attention`, 'alert'));
  if (f.waiting) chips.push(chip(`${f.waiting} waiting over ${rules.waiting_days} days`, 'warn'));
  if (f.disputes) chips.push(chip(f.disputes === 1 ? '1 dispute' : `${f.disputes} disputes`, 'warn'));
  if (f.quiet_days !== null) chips.push(chip(`Quiet for ${f.quiet_days} days`, 'warn'));
  for (const p of f.partner_left) chips.push(chip(`${p.display_name} left`, 'alert'));
  for (const r of f.ratings) chips.push(chip(`${RATING_LABELS[r.key]} ${r.value} (${who[r.user_id] || 'a partner'})`, 'alert'));
  for (const id of f.prepared) chips.push(chip(`${who[id] || 'A partner'} prepared`, 'good'));
  return chips.length ? h('ul', { class: 'chips' }, chips) : h('span', { class: 'hint', text: 'Nothing' });
}

/** @param {string} label @param {Count} count */
function countLine(label, count) {
  return h('span', { class: 'count-line' },
    h('span', { class: 'who', text: label }),
    h('span', { class: 'numbers', text: `${count.done}/${count.target}` }),
    miniBar(count.done, count.target));
}

/** @param {CoupleRow} couple */
function weekCell(couple) {
  const week = couple.this_week;
  if (!week) return h('span', { class: 'hint', text: 'No plan this week' });
  const who = Object.fromEntries(couple.partners.map((p) => [p.user_id, p.display_name]));
  return h('span', { class: 'week-counts' },
    week.partners.filter((p) => p.target).map((p) => countLine(who[p.user_id] || 'Partner', p)),
    week.joint.target ? countLine('Together', week.joint) : null,
    h('span', { class: 'sr-only', text: `; ${week.total.done} of ${week.total.target} in all` }));
}

/** @param {CoupleRow} couple @param {{ waiting_days: number }} rules */
function row(couple, rules) {
  const appointment = couple.next_appointment;
  const who = names(couple);
  return h('tr', { 'data-id': couple.id },
    h('th', { scope: 'row', 'data-label': 'Couple' },
      h('a', { href: `#/couple/${couple.id}`, class: 'couple-link', text: couple.label }),
      // A label that is already the partners' names is not said twice.
      who === couple.label ? null : h('span', { class: 'hint names', text: who || 'Waiting for partners' })),
    h('td', { 'data-label': 'Next appointment' }, appointment
      ? h('time', { datetime: appointment.starts_at, text: dateTime(appointment.starts_at) })
      : h('span', { class: 'hint', text: 'None booked' })),
    h('td', { 'data-label': 'This week' }, weekCell(couple)),
    h('td', { 'data-label': 'Needs attention' }, flagChips(couple, rules)),
    h('td', { 'data-label': 'Last activity' }, couple.last_activity_at
      ? h('time', { datetime: couple.last_activity_at, title: dateTime(couple.last_activity_at), text: relativeDay(couple.last_activity_at) })
      : h('span', { class: 'hint', text: 'None yet' })));
}

/** @param {string} key @param {boolean} descending @returns {(a: CoupleRow, b: CoupleRow) => number} */
function compare(key, descending) {
  const get = (COLUMNS.find(([k]) => k === key) || COLUMNS[0])[2];
  return (a, b) => {
    const x = get(a);
    const y = get(b);
    // Missing values last, whichever the direction.
    if (x === null && y === null) return a.label.localeCompare(b.label);
    if (x === null) return 1;
    if (y === null) return -1;
    const order = x < y ? -1 : x > y ? 1 : a.label.localeCompare(b.label);
    return descending ? -order : order;
  };
}

/** @param {WorkspaceSettings} settings @param {() => Promise<void>} reload */
function rulesForm(settings, reload) {
  const days = h('input', { class: 'input', type: 'number', min: '1', max: '90', required: true, value: String(settings.inactive_days) });
  const rule = settings.rating || { key: 'anxiety', direction: 'at_least', threshold: 8 };
  const key = h('select', { class: 'input' },
    h('option', { value: '', text: 'No rating', selected: !settings.rating }),
    Object.entries(RATING_LABELS).map(([value, label]) => h('option', { value, text: label, selected: settings.rating && value === rule.key })));
  const direction = h('select', { class: 'input' },
    h('option', { value: 'at_least', text: 'at or above', selected: rule.direction === 'at_least' }),
    h('option', { value: 'at_most', text: 'at or below', selected: rule.direction === 'at_most' }));
  const threshold = h('input', { class: 'input', type: 'number', min: '0', max: '10', required: true, value: String(rule.threshold) });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Save rules' });
  const sync = () => {
    direction.disabled = !key.value;
    threshold.disabled = !key.value;
  };
  key.addEventListener('change', sync);
  sync();
  return h('details', { class: 'card rules' },
    h('summary', { text: 'Attention rules' }),
    h('form', {
      class: 'stack',
      novalidate: true, // our own sentences, next to the form, not the browser's bubbles
      onsubmit: (event) => {
        event.preventDefault();
        const n = Number(days.value);
        const t = Number(threshold.value);
        if (!Number.isInteger(n) || n < 1 || n > 90) {
          errors.replaceChildren(h('p', { class: 'error', role: 'alert', text: 'Choose a number of days from 1 to 90.' }));
          return;
        }
        if (key.value && (!Number.isInteger(t) || t < 0 || t > 10)) {
          errors.replaceChildren(h('p', { class: 'error', role: 'alert', text: 'Choose a rating from 0 to 10.' }));
          return;
        }
        busy(button, async () => {
          await api.put('/api/me/workspace-settings', {
            inactive_days: n,
            rating: key.value ? { key: key.value, direction: direction.value, threshold: t } : null,
          });
          say('Rules saved.');
          await reload();
        }, errors);
      },
    },
    field('Flag a couple after this many quiet days', days, 'Quiet: no session logged or answered, nothing shared with you.'),
    h('fieldset', { class: 'row' }, h('legend', { text: 'Flag a rating shared with you in the last two weeks' }),
      field('Rating', key), field('When it is', direction), field('Value (0–10)', threshold)),
    errors, button));
}

/** @type {View} */
export async function render(root, ctx) {
  root.classList.add('wide');
  root.append(title('Couples'));
  const summary = h('p', { class: 'lead', role: 'status' });
  const body = h('div');
  const create = h('div');
  root.append(summary, body, create);

  async function load() {
    /** @type {Overview} */
    const answer = await api.get('/api/therapist/overview');
    body.replaceChildren(...table(answer, summary, load));
    if (!create.firstChild) create.append(newCoupleCard(ctx, { open: answer.couples.length === 0 }));
  }
  await load();
}

/** @param {Overview} answer @param {HTMLElement} summary @param {() => Promise<void>} reload */
function table(answer, summary, reload) {
  const couples = answer.couples;
  const rules = { waiting_days: answer.waiting_days };
  if (!couples.length) {
    summary.textContent = '';
    return [empty('No couples yet. Create one, then invite the partners.'), rulesForm(answer.settings, reload)];
  }
  const rows = new Map(couples.map((c) => [c.id, row(c, rules)]));
  const tbody = h('tbody');
  /** @type {[string, HTMLElement][]} */
  const heads = COLUMNS.map(([key, label]) => {
    const button = h('button', { type: 'button', class: 'sort' }, label, h('span', { class: 'sort-mark', 'aria-hidden': 'true' }));
    const th = h('th', { scope: 'col' }, button);
    button.addEventListener('click', () => {
      view.descending = view.sort === key ? !view.descending : key === 'attention' || key === 'activity';
      view.sort = key;
      update();
    });
    return [key, th];
  });
  const searchId = nextId('search');
  const search = h('input', { class: 'input', type: 'search', id: searchId, value: view.search, autocomplete: 'off', placeholder: 'Label or name' });
  const filter = h('select', { class: 'input' }, FILTERS.map(([value, label]) => h('option', { value, text: label, selected: value === view.filter })));
  search.addEventListener('input', () => {
    view.search = search.value;
    update();
  });
  filter.addEventListener('change', () => {
    view.filter = filter.value;
    update();
  });
  const needing = couples.filter((c) => c.attention > 0).length;
  const empties = h('p', { class: 'empty', text: 'No couple matches.', hidden: true });

  function update() {
    const words = view.search.trim().toLocaleLowerCase();
    const shown = couples
      .filter(MATCH[view.filter] || MATCH.all)
      .filter((c) => !words || `${c.label} ${names(c)}`.toLocaleLowerCase().includes(words))
      .sort(compare(view.sort, view.descending));
    tbody.replaceChildren(...shown.map((c) => /** @type {HTMLTableRowElement} */ (rows.get(c.id))));
    for (const [key, th] of heads) {
      th.setAttribute('aria-sort', key === view.sort ? (view.descending ? 'descending' : 'ascending') : 'none');
    }
    const total = `${couples.length} ${couples.length === 1 ? 'couple' : 'couples'}`;
    const of = shown.length === couples.length ? total : `${shown.length} of ${total} shown`;
    summary.textContent = `${of} · ${needing} need${needing === 1 ? 's' : ''} attention`;
    empties.hidden = shown.length > 0;
  }

  const tableEl = h('table', { class: 'overview' },
    h('caption', { class: 'sr-only', text: 'Your couples. Column headers sort the table.' }),
    h('thead', {}, h('tr', {}, heads.map(([, th]) => th))),
    tbody);
  update();
  return [
    h('div', { class: 'toolbar' },
      field('Find a couple', search),
      field('Show', filter)),
    rulesForm(answer.settings, reload),
    tableEl,
    empties,
  ];
}
