// @ts-check
// The guide: static text shipped with the app (precached with the shell, so it opens offline).
import { h, title } from '../ui.js';
import { NO_MEDICAL_ADVICE, SECTIONS } from '../../guide/content.js';

/** @type {OpenView} */
export async function render(root) {
  root.append(
    title('Guide'),
    h('p', { class: 'lead', text: 'What to expect from sex therapy, and how to get the most from it.' }),
    h('p', { class: 'note-from', role: 'note', text: NO_MEDICAL_ADVICE }),
    h('nav', { 'aria-label': 'Guide contents' },
      h('ul', { class: 'plain' },
        SECTIONS.map((s) => h('li', {}, h('a', { href: `#/guide/${s.id}`, text: s.title }))))),
    ...SECTIONS.map((s) =>
      h('section', { class: 'card', id: `guide-${s.id}`, 'aria-labelledby': `guide-${s.id}-h` },
        h('h2', { id: `guide-${s.id}-h`, text: s.title }),
        s.paragraphs.map((p) => h('p', { text: p })),
        s.list ? h('ul', {}, s.list.map((item) => h('li', { text: item }))) : null))
  );
}

// #/guide/<section>: the same page, scrolled to that section.
/** @type {OpenView} */
export async function renderSection(root, ctx) {
  await render(root, ctx);
  const target = root.querySelector(`#guide-${CSS.escape(ctx.params[0] || '')}`);
  const heading = target && target.querySelector('h2');
  if (target && heading) {
    heading.tabIndex = -1;
    heading.focus();
    target.scrollIntoView();
  }
}
