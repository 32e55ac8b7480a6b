// @ts-check
// The therapist's own profile: what couples read before accepting an invitation, and in the app.
import * as api from '../api.js';
import { busy, field, h, say, title } from '../ui.js';

/** @type {[string, string, number, string?][]} */
const FIELDS = [
  ['display_name', 'Name as couples see it', 120, 'e.g. Dr Ana Rivera'],
  ['education', 'Education and training', 2000],
  ['licence', 'Licence (where, number)', 2000],
  ['certifications', 'Certification', 2000, 'e.g. AASECT certified sex therapist'],
  ['experience', 'Experience', 2000],
  ['focus', 'Focus', 2000],
  ['location', 'Office location', 2000],
  ['hours', 'Hours', 2000],
  ['session_frequency', 'How often sessions are', 300],
  ['expected_course', 'Expected course', 2000],
  ['fees', 'Fees', 2000],
  ['insurance', 'Insurance', 2000],
  ['payment', 'Payment', 2000],
  ['rescheduling_policy', 'Cancelling and rescheduling', 2000],
];

/** @type {View} */
export async function render(root) {
  root.append(title('My profile'),
    h('p', { class: 'lead', text: 'Couples see this before they accept your invitation, and in the app. Every field is optional.' }));
  /** @type {TherapistProfile} */
  const profile = await api.get('/api/me/therapist-profile');
  /** @type {Record<string, HTMLInputElement | HTMLTextAreaElement>} */
  const inputs = {};
  const controls = FIELDS.map(([key, label, max, placeholder]) => {
    const control = max > 200
      ? h('textarea', { class: 'input', rows: 2, maxlength: max, name: key, placeholder })
      : h('input', { class: 'input', maxlength: max, name: key, placeholder });
    control.value = String(profile[key] || '');
    inputs[key] = control;
    return field(label, control);
  });
  const telehealth = h('select', { class: 'input', name: 'telehealth' },
    h('option', { value: '', text: 'Not said' }),
    h('option', { value: 'true', text: 'Offered' }),
    h('option', { value: 'false', text: 'Not offered' }));
  telehealth.value = profile.telehealth === null || profile.telehealth === undefined ? '' : String(profile.telehealth);
  const minutes = h('input', { class: 'input', type: 'number', min: 10, max: 600, step: 5, name: 'session_length_minutes' });
  minutes.value = String(profile.session_length_minutes || '');
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Save profile' });
  root.append(h('form', {
    class: 'stack card',
    onsubmit: (event) => {
      event.preventDefault();
      busy(button, async () => {
        /** @type {Record<string, unknown>} */
        const body = {};
        for (const [key, input] of Object.entries(inputs)) body[key] = input.value.trim() || null;
        body.telehealth = telehealth.value === '' ? null : telehealth.value === 'true';
        body.session_length_minutes = minutes.value ? Number(minutes.value) : null;
        await api.put('/api/me/therapist-profile', body);
        say('Profile saved.');
      }, errors);
    },
  }, controls.slice(0, 7), field('Video sessions', telehealth), controls.slice(7, 8),
  field('Session length (minutes)', minutes), controls.slice(8), errors, button));
}
