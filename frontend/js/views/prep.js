// @ts-check
// A partner's preparation for the next appointment: nine sections, each with who may read it.
// Like notes, it is never stored on the device: saving needs the network, and the text stays
// on screen until it is sent.
import * as api from '../api.js';
import { busy, dateTime, empty, field, h, nextId, say, title, VISIBILITY } from '../ui.js';

/** @type {Record<PrepKey, [string, string]>} */
export const SECTIONS = {
  concern: ['What the concern is', 'In your own words: what would you like to change?'],
  onset: ['When it began', 'Roughly when, and whether anything else was happening then.'],
  pattern: ['Every time, or only sometimes?', 'Is it persistent, or does it come and go?'],
  professionals: ['Professionals you have seen', 'Doctors, therapists, counsellors: who, and when.'],
  treatments: ['Treatments you have tried', 'What you tried and what effect it had.'],
  medical: ['Medical problems', 'Conditions, surgery, treatments, pain.'],
  life_changes: ['Stresses and recent life changes', 'A move, a new job, a birth, a loss, money worries…'],
  medications: ['Medications, supplements and remedies', 'Every one, with its dose.'],
  questions: ['Questions for your therapist', 'Anything you would like to ask or understand.'],
};

/** @param {Visibility} selected */
function visibilitySelect(selected) {
  const id = nextId('vis');
  const select = h('select', { class: 'input', id, 'aria-describedby': `${id}-who` },
    Object.entries(VISIBILITY).map(([value, v]) => h('option', { value, text: v.label, selected: value === selected })));
  const who = h('p', { class: 'hint', id: `${id}-who`, 'aria-live': 'polite', text: VISIBILITY[selected].who });
  select.addEventListener('change', () => {
    who.textContent = VISIBILITY[/** @type {Visibility} */ (select.value)].who;
  });
  return { select, who };
}

/** @param {SharedPrep} entry @param {Record<Uuid, string>} names */
export function sharedSections(entry, names) {
  return h('section', { class: 'card' },
    h('h3', { text: `From ${names[entry.author_id] || 'a partner who left'}` }),
    h('dl', { class: 'facts' }, entry.sections.map((s) =>
      h('div', {}, h('dt', { text: (SECTIONS[s.key] || [s.key])[0] }),
        h('dd', { class: 'body', text: s.text }),
        h('dd', { class: 'meta', text: VISIBILITY[s.visibility].label })))));
}

/** @type {View} */
export async function render(root, { state }) {
  root.append(title('Prepare for your appointment'));
  if (!state.couple) {
    root.append(empty('Join a couple first.'));
    return;
  }
  const base = `/api/couples/${state.couple.id}/prep`;
  /** @type {Prep} */
  let prep;
  try {
    prep = await api.get(base);
  } catch (error) {
    if (api.statusOf(error) !== 404) throw error;
    root.append(empty('There is no appointment booked in Tandem yet. When your therapist sets one, you can prepare for it here.'),
      h('p', {}, h('a', { href: '#/guide/what-to-bring', text: 'What to bring to an appointment' })));
    return;
  }
  root.append(
    h('p', { class: 'lead', text: `For your appointment on ${dateTime(prep.appointment_starts_at)}. Fill in what you like; every section is optional.` }),
    h('p', { class: 'hint', text: 'Each section says who can read it. It is not stored on this phone.' }),
    h('p', { class: 'links' }, h('a', { href: '#/print/prep', text: 'Print what I saved' })));
  const rows = prep.sections.map((section) => {
    const [label, hint] = SECTIONS[section.key];
    const text = h('textarea', { class: 'input', rows: 3, maxlength: 5000, name: section.key });
    text.value = section.text;
    const { select, who } = visibilitySelect(section.visibility);
    const box = h('fieldset', { class: 'card stack prep-section', 'data-key': section.key },
      h('legend', { text: label }),
      field('Your answer', text, hint),
      field('Who can read it', select), who);
    return { key: section.key, text, select, box };
  });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Save preparation' });
  root.append(h('form', {
    class: 'stack',
    onsubmit: (event) => {
      event.preventDefault();
      busy(button, async () => {
        await api.put(base, {
          appointment_id: prep.appointment_id,
          sections: rows.map((r) => ({ key: r.key, text: r.text.value, visibility: r.select.value })),
        });
        say('Preparation saved.');
      }, errors);
    },
  }, rows.map((r) => r.box), errors, h('div', { class: 'actions sticky' }, button)));

  const shared = /** @type {SharedPrep[]} */ (await api.get(`${base}/shared`)).filter((e) => e.appointment_id === prep.appointment_id);
  if (shared.length) {
    const names = Object.fromEntries((state.couple.members || []).map((m) => [m.user_id, m.display_name]));
    root.append(h('h2', { text: 'What your partner shared with you' }), ...shared.map((e) => sharedSections(e, names)));
  }
}
