// The therapist's couples, with this week's adherence at a glance, and creating a couple.
import * as api from '../api.js';
import { loadSession } from '../app.js';
import { busy, empty, field, h, title } from '../ui.js';

export function adherenceMeter(week) {
  if (!week || !week.target) return h('span', { class: 'hint', text: 'No published plan this week' });
  const pct = Math.round((100 * week.done) / week.target);
  return h('span', { class: 'glance' },
    h('meter', { min: '0', max: String(week.target), value: String(week.done), 'aria-label': `${week.done} of ${week.target} done this week` }),
    h('span', { text: `${week.done}/${week.target} · ${pct}%` }));
}

export async function render(root, { state, go }) {
  root.append(title('Couples'));
  const [couples, flags] = await Promise.all([api.get('/api/couples'), api.get('/api/me/risk-flags').catch(() => [])]);
  const flagged = Object.fromEntries(flags.map((f) => [f.couple_id, f.open]));
  state.couples = couples;
  root.append(couples.length
    ? h('ul', { class: 'list' }, couples.map((c) => h('li', {},
      h('a', { href: `#/couple/${c.id}`, class: 'row-link' },
        h('span', { class: 'name', text: c.label }),
        h('span', { class: 'hint', text: (c.members || []).filter((m) => m.role === 'partner').map((m) => m.display_name).join(' & ') || 'Waiting for partners' }),
        adherenceMeter(c.this_week),
        flagged[c.id] ? h('span', { class: 'error', text: `${flagged[c.id]} questionnaire ${flagged[c.id] === 1 ? 'answer needs' : 'answers need'} your attention` }) : null))))
    : empty('No couples yet. Create one, then invite the partners.'));

  const label = h('input', { class: 'input', required: true, maxlength: '120', autocomplete: 'off' });
  const zone = h('input', { class: 'input', required: true, value: Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC' });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Create couple' });
  root.append(h('section', { class: 'card', 'aria-labelledby': 'new-couple' },
    h('h2', { id: 'new-couple', text: 'New couple' }),
    h('form', {
      class: 'stack',
      onsubmit: (event) => {
        event.preventDefault();
        busy(button, async () => {
          const couple = await api.post('/api/couples', { label: label.value.trim(), timezone: zone.value.trim() });
          await loadSession();
          go(`couple/${couple.id}`);
        }, errors);
      },
    },
    field('Label', label, 'Only you and the couple see it. Initials or a nickname are enough.'),
    field('Time zone', zone, 'The couple’s weeks start on Monday in this time zone.'),
    errors, button)));
}
