// @ts-check
// The couple's therapist, as the partners (and invitees) see them: the answers to the questions
// people are told to ask before booking.
import * as api from '../api.js';
import { empty, h, title } from '../ui.js';

/** @type {[string, string][]} */
export const PROFILE_FIELDS = [
  ['education', 'Education and training'],
  ['licence', 'Licence'],
  ['certifications', 'Certification'],
  ['experience', 'Experience'],
  ['focus', 'Focus'],
  ['location', 'Office'],
  ['hours', 'Hours'],
  ['session_frequency', 'How often'],
  ['expected_course', 'Expected course'],
  ['fees', 'Fees'],
  ['insurance', 'Insurance'],
  ['payment', 'Payment'],
  ['rescheduling_policy', 'Cancelling and rescheduling'],
];

/** @param {TherapistProfile | null} profile @param {{ heading?: 'h2' | 'h3' }} [options] */
export function profileCard(profile, { heading = 'h2' } = {}) {
  if (!profile) return null;
  /** @param {string} label @param {unknown} value */
  const row = (label, value) => h('div', {}, h('dt', { text: label }), h('dd', { text: String(value) }));
  const rows = PROFILE_FIELDS.filter(([key]) => profile[key]).map(([key, label]) => row(label, profile[key]));
  if (profile.telehealth !== null && profile.telehealth !== undefined) {
    rows.push(row('Video sessions', profile.telehealth ? 'Offered' : 'Not offered'));
  }
  if (profile.session_length_minutes) rows.push(row('Session length', `${profile.session_length_minutes} minutes`));
  return h('section', { class: 'card therapist-profile' },
    h(heading, { text: `About ${profile.display_name || 'the therapist'}` }),
    rows.length ? h('dl', { class: 'facts' }, rows) : h('p', { text: 'No details given yet.' }),
    h('p', { class: 'hint' }, 'Not sure what to ask? ',
      h('a', { href: '#/guide/before-booking', text: 'Questions to ask before booking' })));
}

/** @type {View} */
export async function render(root, { state }) {
  root.append(title('Your therapist'));
  if (!state.couple) {
    root.append(empty('Join a couple first.'));
    return;
  }
  /** @type {TherapistProfile | null} */
  let profile = null;
  try {
    profile = await api.get(`/api/couples/${state.couple.id}/therapist-profile`);
  } catch (error) {
    if (api.statusOf(error) !== 404) throw error;
  }
  const card = profileCard(profile);
  if (!card) {
    root.append(empty('Your couple has no therapist in Tandem yet. You can invite one from Settings.'));
    return;
  }
  root.append(card,
    h('p', { class: 'hint' }, 'Something feels wrong? ',
      h('a', { href: '#/guide/concerns', text: 'Raising a concern, or changing therapist' })));
}
