// @ts-check
// A partner's own printable pages: a week (#/print/week[/<monday>]) and their preparation for
// the next appointment (#/print/prep). What they wrote, and what the other partner shared with
// them; never the other's private entries (the server never sends them).
import * as api from '../api.js';
import { addDays, dateTime, empty, h, mondayOf, title, todayIn, VISIBILITY, weekLabel } from '../ui.js';
import { pageHeader } from '../print.js';
import { eventSentence, RATINGS } from './couple.js';
import { SECTIONS } from './prep.js';

/** @param {string} back */
function printBar(back) {
  return h('div', { class: 'actions no-print' },
    h('button', { type: 'button', class: 'primary', text: 'Print or save as PDF', onclick: () => window.print() }),
    h('a', { href: back, class: 'button secondary', text: 'Back' }));
}

/** @param {JournalEntry} e @param {string} who */
function entry(e, who) {
  const r = e.ratings;
  const ratings = r
    ? RATINGS.filter(([k]) => r[k] !== null && r[k] !== undefined).map(([k, l]) => `${l} ${r[k]}`).join(' · ')
    : '';
  return h('article', { class: 'entry shared-entry' },
    h('p', { class: 'meta', text: `${e.body !== undefined ? 'Note' : 'Check-in'} · ${who} · ${dateTime(e.created_at)} · ${(VISIBILITY[e.visibility] || {}).label || e.visibility}` }),
    ratings ? h('p', { text: ratings }) : null,
    e.obstacles ? h('p', {}, h('strong', { text: 'What got in the way: ' }), e.obstacles) : null,
    e.body || e.text ? h('p', { class: 'body', text: e.body || e.text }) : null);
}

/** @param {JournalEntry[]} list @param {string} who @param {string} none */
function entries(list, who, none) {
  const sorted = [...list].sort((a, b) => a.created_at.localeCompare(b.created_at));
  return sorted.length ? sorted.map((e) => entry(e, who)) : [empty(none)];
}

/** @type {View} */
export async function week(root, { params, state }) {
  root.classList.add('printable');
  const couple = state.couple;
  root.append(title('My week'));
  if (!couple) {
    root.append(empty('Join a couple first.'));
    return;
  }
  const monday = params[0] || mondayOf(todayIn(couple.timezone));
  /** @type {WeekSummary} */
  const summary = await api.get(`${api.path`/api/couples/${couple.id}/summary`}?week_start=${monday}`);
  const other = summary.partner ? summary.partner.display_name : 'Your partner';
  /** @type {Record<Uuid, string>} */
  const names = { [summary.me.user_id]: 'You' };
  if (summary.partner) names[summary.partner.user_id] = other;
  pageHeader(`${summary.me.display_name} · week of ${weekLabel(monday)}`);
  root.append(
    h('p', { class: 'lead', text: `${weekLabel(monday)} · printed for ${summary.me.display_name}` }),
    h('nav', { class: 'links no-print', 'aria-label': 'Other weeks' },
      h('a', { href: `#/print/week/${addDays(monday, -7)}`, text: 'Week before' }),
      monday < mondayOf(todayIn(couple.timezone)) ? h('a', { href: `#/print/week/${addDays(monday, 7)}`, text: 'Week after' }) : null),
    printBar('#/week'),
    h('section', { class: 'brief-block', 'aria-labelledby': 'pw-plan' }, h('h2', { id: 'pw-plan', text: 'The plan' }),
      summary.plan_note ? h('p', { class: 'body', text: summary.plan_note }) : null,
      summary.items.length
        ? h('ul', { class: 'plain' }, summary.items.map((i) => h('li', {},
          h('span', { text: i.title }),
          h('span', { class: 'count', text: i.mine ? `You: ${i.mine.done} of ${i.mine.target}` : `Together: ${i.done} of ${i.target}` }))))
        : empty('No plan this week.')),
    h('section', { class: 'brief-block', 'aria-labelledby': 'pw-sessions' }, h('h2', { id: 'pw-sessions', text: 'Sessions' }),
      summary.sessions.length
        ? h('ul', { class: 'plain events' }, summary.sessions.map((e) => h('li', { class: 'event' },
          h('p', { class: 'what', text: `${dateTime(e.at)}: ${eventSentence(e, names)}` }))))
        : empty('No session logged this week.')),
    h('section', { class: 'brief-block', 'aria-labelledby': 'pw-mine' }, h('h2', { id: 'pw-mine', text: 'What I wrote' }),
      ...entries([...summary.my_notes, ...summary.my_checkins], 'You', 'Nothing written this week.')),
    h('section', { class: 'brief-block', 'aria-labelledby': 'pw-shared' }, h('h2', { id: 'pw-shared', text: `What ${other} shared with me` }),
      ...entries([...summary.shared_notes, ...summary.shared_checkins], other, 'Nothing shared with you this week.')));
}

/** @param {PrepSection[]} sections @param {boolean} withVisibility */
function sectionList(sections, withVisibility) {
  const filled = sections.filter((s) => s.text);
  if (!filled.length) return empty('Nothing written.');
  return h('dl', { class: 'facts' }, filled.map((s) => h('div', {},
    h('dt', { text: (SECTIONS[s.key] || [s.key])[0] }),
    h('dd', { class: 'body', text: s.text }),
    withVisibility ? h('dd', { class: 'meta', text: `Who can read it: ${VISIBILITY[s.visibility].label}` }) : null)));
}

/** @type {View} */
export async function prep(root, { state }) {
  root.classList.add('printable');
  root.append(title('My preparation'));
  const couple = state.couple;
  if (!couple) {
    root.append(empty('Join a couple first.'));
    return;
  }
  /** @type {Prep} */
  let mine;
  try {
    mine = await api.get(api.path`/api/couples/${couple.id}/prep`);
  } catch (error) {
    if (api.statusOf(error) !== 404) throw error;
    root.append(empty('There is no appointment booked in Tandem yet, so nothing to print.'));
    return;
  }
  const shared = /** @type {SharedPrep[]} */ (await api.get(api.path`/api/couples/${couple.id}/prep/shared`)).filter((e) => e.appointment_id === mine.appointment_id);
  const names = Object.fromEntries((couple.members || []).map((m) => [m.user_id, m.display_name]));
  const when = dateTime(mine.appointment_starts_at);
  pageHeader(`${state.user.display_name} · preparation for ${when}`);
  root.append(
    h('p', { class: 'lead', text: `For the appointment on ${when} · printed for ${state.user.display_name}` }),
    printBar('#/prep'),
    h('section', { class: 'brief-block', 'aria-labelledby': 'pp-mine' }, h('h2', { id: 'pp-mine', text: 'What I wrote' }), sectionList(mine.sections, true)),
    ...shared.map((e) => h('section', { class: 'brief-block', 'aria-labelledby': `pp-${e.author_id}` },
      h('h2', { id: `pp-${e.author_id}`, text: `What ${names[e.author_id] || 'my partner'} shared with me` }),
      sectionList(e.sections, false))));
}
