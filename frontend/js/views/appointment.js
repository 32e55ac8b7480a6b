// @ts-check
// The next appointment: a card beside the week for partners; for the therapist, a setter on the
// couple's page and a screen with what the partners prepared.
import * as api from '../api.js';
import { busy, dateTime, empty, field, h, say, title } from '../ui.js';
import { appointmentDownload } from './calendar.js';
import { sharedSections } from './prep.js';

// `null` while none is booked.
/** @param {Uuid} coupleId @returns {Promise<Appointment | null>} */
async function nextAppointment(coupleId) {
  return await api.get(`/api/couples/${coupleId}/next-appointment`);
}

/** @param {Uuid} coupleId */
export async function appointmentCard(coupleId) {
  let next;
  try {
    next = await nextAppointment(coupleId);
  } catch {
    return null; // the week must open even when this does not
  }
  const links = h('p', { class: 'links' },
    next ? h('a', { href: '#/prep', text: 'Prepare' }) : null,
    next ? appointmentDownload(coupleId) : null,
    h('a', { href: '#/therapist', text: 'About your therapist' }),
    h('a', { href: '#/guide', text: 'Guide' }));
  return h('section', { class: 'card appointment', 'aria-labelledby': 'appointment-h' },
    h('h2', { id: 'appointment-h', text: 'Next appointment' }),
    next
      ? [h('p', { class: 'when', text: dateTime(next.starts_at) }), next.note ? h('p', { class: 'hint', text: next.note }) : null]
      : h('p', { class: 'hint', text: 'None booked in Tandem yet.' }),
    links);
}

// <input type=datetime-local> speaks local wall time without an offset; Date reads it as local.
/** @param {Instant} iso */
function localValue(iso) {
  const d = new Date(iso);
  /** @param {number} n */
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** @param {Uuid} coupleId */
export async function appointmentPanel(coupleId) {
  const next = await nextAppointment(coupleId);
  const when = h('input', { class: 'input', type: 'datetime-local', required: true, name: 'starts_at' });
  if (next) when.value = localValue(next.starts_at);
  const note = h('input', { class: 'input', maxlength: 500, name: 'note', placeholder: 'e.g. video call, or room 2' });
  note.value = next ? next.note : '';
  const current = h('p', { class: 'when', text: next ? dateTime(next.starts_at) : 'None booked yet.' });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: next ? 'Move appointment' : 'Set appointment' });
  return h('section', { class: 'card stack', 'aria-labelledby': 'next-appointment-h' },
    h('h2', { id: 'next-appointment-h', text: 'Next appointment' }),
    current,
    h('form', {
      class: 'stack',
      onsubmit: (event) => {
        event.preventDefault();
        busy(button, async () => {
          /** @type {Appointment} */
          const saved = await api.put(`/api/couples/${coupleId}/next-appointment`, {
            starts_at: new Date(when.value).toISOString(),
            note: note.value.trim(),
          });
          current.textContent = dateTime(saved.starts_at);
          button.textContent = 'Move appointment';
          say('Appointment saved. Both partners will be reminded the day before.');
        }, errors);
      },
    }, field('Date and time', when), field('Note for the couple (optional)', note), errors, button),
    h('p', { class: 'links' }, h('a', { href: `#/couple/${coupleId}/prep`, text: 'What the partners prepared' })));
}

// #/couple/<id>/prep: what each partner shared with the therapist, newest appointment first.
/** @type {View} */
export async function renderPrep(root, { params }) {
  const id = params[0];
  /** @type {Couple} */
  const couple = await api.get(`/api/couples/${id}`);
  const names = Object.fromEntries((couple.members || []).map((m) => [m.user_id, m.display_name]));
  root.append(title('Session preparation'),
    h('p', { class: 'lead', text: `${couple.label}: only what the partners chose to share with you.` }),
    h('p', {}, h('a', { href: `#/couple/${id}`, text: 'Back to the couple' })));
  /** @type {SharedPrep[]} */
  const entries = await api.get(`/api/couples/${id}/prep/shared`);
  if (!entries.length) {
    root.append(empty('Nothing shared with you yet.'));
    return;
  }
  /** @type {Map<Uuid, SharedPrep[]>} */
  const byAppointment = new Map();
  for (const entry of entries) {
    if (!byAppointment.has(entry.appointment_id)) byAppointment.set(entry.appointment_id, []);
    byAppointment.get(entry.appointment_id)?.push(entry);
  }
  for (const group of byAppointment.values()) {
    root.append(h('h2', { text: `For ${dateTime(group[0].appointment_starts_at)}` }),
      ...group.map((entry) => sharedSections(entry, names)));
  }
}
