// @ts-check
// An exercise: why it helps, how to do it, and its boundaries.
import * as api from '../api.js';
import { CATEGORY, h, title } from '../ui.js';

/** @param {string | null} text */
export function paragraphs(text) {
  return String(text || '')
    .split(/\n\s*\n/)
    .filter((p) => p.trim())
    .map((p) => h('p', { text: p.trim() }));
}

/** @type {View} */
export async function render(root, { params }) {
  /** @type {Exercise} */
  const exercise = await api.get(api.path`/api/exercises/${params[0]}`);
  root.append(
    h('p', { class: 'eyebrow', text: [CATEGORY[exercise.category] || exercise.category, exercise.stage ? `stage ${exercise.stage}` : null].filter(Boolean).join(' · ') }),
    title(exercise.title),
    h('p', { class: 'meta', text: [exercise.default_minutes ? `About ${exercise.default_minutes} minutes` : null, exercise.default_mode === 'joint' ? 'Together' : 'On your own'].filter(Boolean).join(' · ') })
  );
  if (exercise.rationale) root.append(h('section', { class: 'card' }, h('h2', { text: 'Why it helps' }), paragraphs(exercise.rationale)));
  root.append(h('section', { class: 'card' }, h('h2', { text: 'How to do it' }), paragraphs(exercise.instructions)));
  if (exercise.boundaries) root.append(h('section', { class: 'card boundaries' }, h('h2', { text: 'Boundaries' }), paragraphs(exercise.boundaries)));
  root.append(h('p', { class: 'links' }, h('button', { type: 'button', class: 'link', text: 'Back', onclick: () => history.back() })));
}
