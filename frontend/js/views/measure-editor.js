// @ts-check
// A therapist's own questionnaire, for an instrument they hold a licence for: questions with
// their answers and values, sum scoring, bands, risk answers, recall period. Saved once; a
// saved questionnaire is not edited, so answers already given keep their meaning.
import * as api from '../api.js';
import { busy, field, h, say, title, valueIn } from '../ui.js';

const LINE = /^\s*(-?\d+)\s*[=:.)-]?\s*(.+?)\s*$/;

/** @param {number} n */
function itemBlock(n) {
  return h('fieldset', { class: 'card stack item-edit' }, h('legend', { text: `Question ${n}` }),
    field('Question', h('input', { class: 'input', name: 'text', required: true, maxlength: 500 })),
    field('Answers, one per line: value, then words', h('textarea', { class: 'input', name: 'options', required: true }), 'e.g. “0 Not at all” on one line, “1 Several days” on the next.'),
    field('Risk answer (optional): this value or above shows the safety screen and flags it for you', h('input', { class: 'input', name: 'risk', inputmode: 'numeric', pattern: '-?\\d*' })));
}

/** @param {string} text @param {number} n @param {number | null} risk */
function parseOptions(text, n, risk) {
  const options = text.split('\n').filter((l) => l.trim()).map((l) => {
    const m = l.match(LINE);
    if (!m) throw new Error(`Question ${n}: each answer line starts with its value, e.g. “0 Never”.`);
    return { value: Number(m[1]), label: m[2] };
  });
  const values = options.map((o) => o.value);
  if (options.length < 2) throw new Error(`Question ${n} needs at least two answers.`);
  if (new Set(values).size < values.length) throw new Error(`Question ${n}: each answer needs its own value.`);
  if (risk !== null && !values.includes(risk)) throw new Error(`Question ${n}: the risk answer must be one of its values.`);
  return options;
}

/** @param {string} text */
function parseBands(text) {
  return text.split('\n').filter((l) => l.trim()).map((l) => {
    const m = l.match(/^\s*(-?\d+)\s*[-–]\s*(-?\d+)\s+(.+?)\s*$/);
    if (!m) throw new Error('Each band line is “lowest–highest words”, e.g. “0-4 Minimal”.');
    return { min: Number(m[1]), max: Number(m[2]), label: m[3] };
  });
}

/** @type {View} */
export async function render(root, { go }) {
  const items = h('div', {}, itemBlock(1));
  const add = h('button', { type: 'button', class: 'secondary', text: 'Add a question' });
  add.addEventListener('click', () => items.append(itemBlock(items.children.length + 1)));
  const errors = h('div');
  const save = h('button', { type: 'submit', class: 'primary', text: 'Save questionnaire' });
  const form = h('form', { class: 'stack' },
    field('Name', h('input', { class: 'input', name: 'title', required: true, maxlength: 120 })),
    field('Instructions shown above the questions', h('input', { class: 'input', name: 'instructions', maxlength: 500 })),
    field('Recall period in days (optional)', h('input', { class: 'input', name: 'recall', inputmode: 'numeric', pattern: '\\d*' })),
    items, h('div', { class: 'actions' }, add),
    field('Bands (optional), one per line', h('textarea', { class: 'input', name: 'bands' }), 'e.g. “0-4 Minimal”; scores are the sum of the answers.'),
    field('Licence or source', h('input', { class: 'input', name: 'attribution', maxlength: 500 })),
    errors, h('div', { class: 'actions' }, save));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    busy(save, async () => {
      if (!valueIn(form, 'title').trim()) throw new Error('The questionnaire needs a name.');
      const recall = valueIn(form, 'recall');
      const body = {
        title: valueIn(form, 'title'),
        instructions: valueIn(form, 'instructions'),
        recall_days: recall ? Number(recall) : null,
        attribution: valueIn(form, 'attribution'),
        bands: parseBands(valueIn(form, 'bands')),
        items: [...items.children].map((block, i) => {
          const raw = valueIn(block, 'risk').trim();
          const risk = raw === '' ? null : Number(raw);
          const text = valueIn(block, 'text').trim();
          if (!text) throw new Error(`Question ${i + 1} needs its words.`);
          return { text, options: parseOptions(valueIn(block, 'options'), i + 1, risk), risk_at: risk };
        }),
      };
      await api.post('/api/measures', body);
      say('Saved. You can now assign it to a couple.');
      if (history.length > 1) history.back();
      else go('couples');
    }, errors);
  });
  root.append(title('New questionnaire'),
    h('p', { class: 'lead', text: 'For an instrument you hold a licence to use. It is seen by you and the couples you assign it to.' }),
    form);
}
