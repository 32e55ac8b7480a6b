// @ts-check
// The exercise library for therapists: built-in exercises, and their own custom ones.
import * as api from '../api.js';
import { busy, CATEGORY, field, h, say, title } from '../ui.js';

/** @param {Exercise | null} exercise @param {() => Promise<void>} onSaved */
function exerciseForm(exercise, onSaved) {
  /** @type {Partial<Exercise>} */
  const e = exercise || {};
  const name = h('input', { class: 'input', required: true, maxlength: '200', value: e.title || '' });
  const category = h('select', { class: 'input' },
    Object.entries(CATEGORY).map(([key, label]) => h('option', { value: key, text: label, selected: (e.category || 'other') === key })));
  const rationale = h('textarea', { class: 'input', rows: '2', value: e.rationale || '' });
  const instructions = h('textarea', { class: 'input', rows: '5', required: true, value: e.instructions || '' });
  const boundaries = h('textarea', { class: 'input', rows: '2', value: e.boundaries || '' });
  const minutes = h('input', { type: 'number', class: 'input', min: '1', max: '240', value: e.default_minutes ? String(e.default_minutes) : '20' });
  const mode = h('select', { class: 'input' },
    h('option', { value: 'joint', text: 'Together', selected: (e.default_mode || 'joint') === 'joint' }),
    h('option', { value: 'individual', text: 'On their own', selected: e.default_mode === 'individual' }));
  const times = h('input', { type: 'number', class: 'input', min: '1', max: '14', value: String(e.default_times_per_week || 2) });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: exercise ? 'Save changes' : 'Create exercise' });
  return h('form', {
    class: 'stack',
    onsubmit: (event) => {
      event.preventDefault();
      busy(button, async () => {
        const body = {
          title: name.value.trim(),
          category: category.value,
          rationale: rationale.value,
          instructions: instructions.value,
          boundaries: boundaries.value,
          default_minutes: Number(minutes.value) || null,
          default_mode: mode.value,
          default_times_per_week: Number(times.value) || 1,
        };
        if (exercise) await api.patch(`/api/exercises/${exercise.id}`, body);
        else await api.post('/api/exercises', body);
        say(exercise ? 'Exercise saved.' : 'Exercise created.');
        await onSaved();
      }, errors);
    },
  },
  field('Title', name), field('Category', category),
  field('Why it helps', rationale, 'A stated reason makes people more likely to do it.'),
  field('Instructions', instructions, 'Plain text; leave an empty line between paragraphs.'),
  field('Boundaries', boundaries, 'For example: no intercourse at this stage.'),
  h('div', { class: 'grid2' }, field('Minutes', minutes), field('Times per week', times)),
  field('Mode', mode), errors, button);
}

/** @type {View} */
export async function render(root, { render: rerender }) {
  root.append(title('Exercises'));
  /** @type {Exercise[]} */
  const library = await api.get('/api/exercises');
  const custom = library.filter((e) => e.custom);
  const builtIn = library.filter((e) => !e.custom);
  root.append(
    h('details', { class: 'card' }, h('summary', { text: 'Create a custom exercise' }), exerciseForm(null, rerender)),
    h('h2', { text: 'Yours' }),
    custom.length
      ? h('ul', { class: 'plain stack' }, custom.map((e) => h('li', { class: 'card' },
        h('details', {}, h('summary', { text: e.title }), exerciseForm(e, rerender)))))
      : h('p', { class: 'empty', text: 'Your custom exercises appear here, visible to you and your couples only.' }),
    h('h2', { text: 'Built in' }),
    h('ul', { class: 'list' }, builtIn.map((e) => h('li', {},
      h('a', { href: `#/exercise/${e.id}`, class: 'row-link' },
        h('span', { class: 'name', text: e.title }),
        h('span', { class: 'hint', text: `${CATEGORY[e.category] || e.category}${e.stage ? ` · stage ${e.stage}` : ''}` })))))
  );
}
