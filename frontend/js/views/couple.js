// One couple, for their therapist: plans, adherence over the weeks, what the partners shared,
// invitations.
import * as api from '../api.js';
import { addDays, empty, h, mondayOf, shortDate, svg, title, todayIn } from '../ui.js';
import { appointmentPanel } from './appointment.js';
import { checkinCard } from './checkin.js';
import { invitationsPanel } from './invite.js';
import { noteCard } from './notes.js';

// Bars of done vs target per week, drawn with DOM APIs (no inline styles under the CSP), with
// a table beside it for screen readers.
export function adherenceChart(weeks) {
  const data = [...weeks].sort((a, b) => a.week_start.localeCompare(b.week_start));
  const width = 340;
  const height = 160;
  const pad = { top: 12, bottom: 28, left: 8, right: 8 };
  const max = Math.max(1, ...data.map((w) => Math.max(w.target, w.done)));
  const slot = (width - pad.left - pad.right) / Math.max(1, data.length);
  const bar = Math.min(28, slot * 0.6);
  const y = (v) => pad.top + (height - pad.top - pad.bottom) * (1 - v / max);
  const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'chart', role: 'img', 'aria-labelledby': 'chart-title' },
    svg('title', { id: 'chart-title' }, `Sessions done against target over ${data.length} weeks`));
  data.forEach((w, i) => {
    const x = pad.left + slot * i + (slot - bar) / 2;
    chart.append(
      svg('rect', { class: 'target', x, y: y(w.target), width: bar, height: Math.max(0, y(0) - y(w.target)), rx: 4 }),
      svg('rect', { class: 'done', x: x + bar * 0.2, y: y(w.done), width: bar * 0.6, height: Math.max(0, y(0) - y(w.done)), rx: 3 }),
      svg('text', { x: x + bar / 2, y: height - 10, 'text-anchor': 'middle', class: 'axis' }, shortDate(w.week_start).split(' ').slice(1).join(' '))
    );
  });
  const table = h('table', { class: 'sr-only' },
    h('caption', { text: 'Adherence by week' }),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', text: 'Week of' }), h('th', { scope: 'col', text: 'Done' }), h('th', { scope: 'col', text: 'Target' }))),
    h('tbody', {}, data.map((w) => h('tr', {}, h('td', { text: w.week_start }), h('td', { text: String(w.done) }), h('td', { text: String(w.target) })))));
  return h('figure', { class: 'chart-wrap' }, chart,
    h('figcaption', { class: 'legend' },
      h('span', { class: 'key target' }), 'target ', h('span', { class: 'key done' }), 'done'),
    table);
}

async function optional(path) {
  try {
    return await api.get(path);
  } catch (error) {
    if (error.status === 404) return null;
    return { error: error.message };
  }
}

// This week's sessions disputed (with what was said) or closed because a partner left.
function disputesSection(plan, names) {
  const rows = [];
  for (const item of (plan && plan.items) || []) {
    for (const log of item.sessions || []) {
      const by = names[log.logged_by] || 'A partner';
      const what = `${by} logged “${item.title}” for ${shortDate(log.done_on)}; `;
      if (log.status === 'disputed') {
        rows.push(h('li', { class: 'card' }, h('p', { text: `${what}${names[log.disputed_by] || 'the other partner'} said it didn't happen${log.dispute_reason ? ':' : '.'}` }),
          log.dispute_reason ? h('blockquote', { class: 'reason', text: log.dispute_reason }) : null));
      } else if (log.withdrawn_reason) {
        rows.push(h('li', { class: 'card', text: `${what}it was closed because ${log.withdrawn_reason === 'author_left' ? by : 'the other partner'} left the couple.` }));
      }
    }
  }
  return rows.length ? h('section', { 'aria-labelledby': 'disputes' }, h('h2', { id: 'disputes', text: 'Sessions disputed or closed this week' }), h('ul', { class: 'plain' }, rows)) : null;
}

export async function render(root, { params }) {
  const id = params[0];
  const couple = await api.get(api.path`/api/couples/${id}`);
  const today = todayIn(couple.timezone);
  const thisWeek = mondayOf(today);
  const former = couple.former_members || [];
  const names = Object.fromEntries([...former, ...(couple.members || [])].map((m) => [m.user_id, m.display_name]));
  const partners = (couple.members || []).filter((m) => m.role === 'partner');
  const left = former.filter((m) => m.role === 'partner');
  root.append(
    title(couple.label),
    h('p', { class: 'lead', text: partners.length ? partners.map((p) => p.display_name).join(' & ') : 'No partner has joined yet.' }),
    ...(left.length
      ? [h('p', { class: 'card note-from', role: 'note', text: left.map((m) => `${m.display_name} left the couple on ${shortDate(m.left_at)}.`).join(' ') })]
      : []),
    h('div', { class: 'actions' },
      h('a', { href: `#/couple/${encodeURIComponent(id)}/plan/${thisWeek}`, class: 'button primary', text: 'This week’s plan' }),
      h('a', { href: `#/couple/${encodeURIComponent(id)}/plan/${addDays(thisWeek, 7)}`, class: 'button secondary', text: 'Next week' }),
      h('a', { href: `#/couple/${encodeURIComponent(id)}/measures`, class: 'button secondary', text: 'Questionnaires & goals' }))
  );
  const flags = await optional(api.path`/api/couples/${id}/risk-flags`);
  if (Array.isArray(flags) && flags.length) {
    root.append(h('p', { class: 'card risk', role: 'alert' }, h('a', { href: `#/couple/${encodeURIComponent(id)}/measures`, text: `${flags.length} questionnaire ${flags.length === 1 ? 'answer needs' : 'answers need'} your attention` })));
  }
  const [adherence, checkins, notes, appointment, plan] = await Promise.all([
    optional(api.path`/api/couples/${id}/adherence?weeks=8`),
    optional(api.path`/api/couples/${id}/checkins`),
    optional(api.path`/api/couples/${id}/notes`),
    appointmentPanel(id),
    optional(api.path`/api/couples/${id}/plans/current`),
  ]);
  root.append(appointment);
  const disputes = disputesSection(plan, names);
  if (disputes) root.append(disputes);
  const adherenceBody = adherence && adherence.weeks && adherence.weeks.length
    ? adherenceChart(adherence.weeks)
    : empty(adherence && adherence.error ? adherence.error : 'No published weeks yet.');
  root.append(h('section', { class: 'card', 'aria-labelledby': 'adh' }, h('h2', { id: 'adh', text: 'Adherence' }), adherenceBody));
  const list = (value, render, none) => (Array.isArray(value) && value.length ? value.map(render) : empty(value && value.error ? value.error : none));
  root.append(
    h('section', { 'aria-labelledby': 'shared-checkins' }, h('h2', { id: 'shared-checkins', text: 'Check-ins shared with you' }),
      list(checkins, (c) => checkinCard(c, names, null), 'Nothing shared yet.')),
    h('section', { 'aria-labelledby': 'shared-notes' }, h('h2', { id: 'shared-notes', text: 'Notes shared with you' }),
      list(notes, (n) => noteCard(n, { names, me: null }), 'Nothing shared yet.')),
    h('section', { class: 'card', 'aria-labelledby': 'invites' }, h('h2', { id: 'invites', text: 'Invitations' }),
      partners.length < 2 ? invitationsPanel(id, ['partner']) : h('p', { class: 'hint', text: 'Both partners have joined.' }))
  );
}
