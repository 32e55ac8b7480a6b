// @ts-check
// Creating a couple, from the therapist's couples overview (views/overview.js).
import * as api from '../api.js';
import { busy, field, h } from '../ui.js';
import { timeZoneField } from '../zones.js';

// Folded away once the therapist has couples; open while they have none.
/** @param {Shell} shell */
export function newCoupleCard({ go, loadSession }, { open = true } = {}) {
  const label = h('input', { class: 'input', name: 'label', required: true, maxlength: '120', autocomplete: 'off' });
  const zone = timeZoneField('Time zone', { hint: 'The couple’s weeks start on Monday in this time zone. Type a city to search.' });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Create couple' });
  return h('details', { class: 'card new-couple', open },
    h('summary', {}, h('h2', { text: 'New couple' })),
    h('form', {
      class: 'stack',
      onsubmit: (event) => {
        event.preventDefault();
        busy(button, async () => {
          /** @type {Couple} */
          const couple = await api.post('/api/couples', { label: label.value.trim(), timezone: zone.read() });
          await loadSession();
          go(`couple/${couple.id}`);
        }, errors);
      },
    },
    field('Label', label, 'Only you and the couple see it. Initials or a nickname are enough.'),
    zone.element,
    errors, button));
}
