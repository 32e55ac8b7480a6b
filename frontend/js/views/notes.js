// @ts-check
// Notes: a Private tab (only the author's private entries) and a Shared tab (entries someone
// can read besides their author). The two lists come from different sources and never mix.
import * as api from '../api.js';
import * as drafts from '../drafts.js';
import { busy, chosenVisibility, confirmDialog, dateTime, empty, field, h, say, title, VISIBILITY, visibilityPicker } from '../ui.js';
import { visibilityChoices } from './checkin.js';
import { together } from './week.js';

/** @param {Note} note @param {{ names: Record<Uuid, string>, me: Uuid, onChange?: () => Promise<void> }} options */
export function noteCard(note, { names, me, onChange }) {
  const mine = note.author_id === me;
  const body = h('p', { class: 'body', text: note.body });
  const card = h('article', { class: 'card entry', 'data-visibility': note.visibility },
    h('p', { class: 'meta', text: `${mine ? 'You' : names[note.author_id] || 'Someone'} · ${dateTime(note.created_at)} · ${(VISIBILITY[note.visibility] || {}).label || note.visibility}` }),
    body);
  if (mine && onChange) {
    const remove = h('button', { type: 'button', class: 'link danger-text', text: 'Delete' });
    remove.addEventListener('click', async () => {
      if (!(await confirmDialog('Delete this note?', 'It will be gone for everyone who could read it.', 'Delete', { danger: true }))) return;
      await busy(remove, async () => {
        await api.del(api.path`/api/notes/${note.id}`);
        say('Note deleted.');
        await onChange();
      });
    });
    card.append(h('div', { class: 'actions end' }, remove));
  }
  return card;
}

/** @type {View} */
export async function render(root, { params, state, go }) {
  const tab = params[0] === 'shared' ? 'shared' : 'private';
  const couple = state.couple;
  const me = state.user.id;
  const people = together(couple, me);
  const names = people.names;
  const choices = visibilityChoices(people);
  const alone = !people.partner;
  root.append(title('Notes'));
  const tabs = h('div', { class: 'segmented', role: 'tablist', 'aria-label': 'Which notes' },
    [['private', 'Private'], ['shared', 'Shared']].map(([key, label]) =>
      h('a', {
        href: `#/notes/${key}`,
        role: 'tab',
        id: `tab-${key}`,
        'aria-selected': String(tab === key),
        'aria-controls': 'notes-panel',
        class: tab === key ? 'selected' : null,
        text: label,
      })));
  const panel = h('div', { id: 'notes-panel', role: 'tabpanel', 'aria-labelledby': `tab-${tab}` });
  root.append(tabs, panel);

  // A note being written survives leaving the screen or a failed send: in memory only.
  const draftKey = `note:${me}`;
  const draft = drafts.get(draftKey);
  const textarea = h('textarea', { class: 'input', name: 'body', rows: '5', maxlength: '20000', required: true, value: draft ? draft.body : '' });
  const picker = visibilityPicker('visibility', draft ? draft.visibility : tab === 'private' ? 'private' : alone ? 'therapist' : 'partner', choices);
  const kept = h('p', { class: 'hint', 'data-testid': 'draft-kept', hidden: !draft, text: 'Your unfinished note is kept here while Tandem is open. It is not stored on this phone.' });
  const keep = () => {
    drafts.set(draftKey, textarea.value ? { body: textarea.value, visibility: chosenVisibility(picker) } : null);
  };
  textarea.addEventListener('input', keep);
  picker.addEventListener('change', keep);
  window.addEventListener('hashchange', () => {
    if (textarea.value.trim()) say('Your unfinished note is kept while Tandem is open. It is not stored on this phone.');
  }, { once: true });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Save note' });
  const explain = h('p', { class: 'hint', role: 'note' });
  const updateExplain = () => {
    const chosen = chosenVisibility(picker);
    explain.textContent = (alone && VISIBILITY[chosen].alone) || VISIBILITY[chosen].who;
  };
  picker.addEventListener('change', updateExplain);
  updateExplain();
  const form = h('form', {
    class: 'stack card',
    onsubmit: (event) => {
      event.preventDefault();
      busy(button, async () => {
        const visibility = chosenVisibility(picker);
        if (!couple) throw new Error('Sharing needs a couple. Join yours first.');
        try {
          await api.post(api.path`/api/couples/${couple.id}/notes`, { body: textarea.value, visibility });
        } catch (error) {
          if (api.isOffline(error)) {
            throw new Error("You're offline. Your note is kept here while Tandem is open; save it when you're back online. It is not stored on this phone.", { cause: error });
          }
          throw error;
        }
        textarea.value = '';
        drafts.forget(draftKey);
        kept.hidden = true;
        say('Note saved.');
        const target = visibility === 'private' ? 'private' : 'shared';
        if (target !== tab) go(`notes/${target}`);
        else await list();
      }, errors);
    },
  }, field('New note', textarea), kept, picker, explain, errors, button);

  const entries = h('div', { class: 'entries' });
  panel.append(
    h('p', { class: 'lead', text: tab === 'private'
      ? (alone ? 'Only you can read these, not even your therapist.' : 'Only you can read these. Not your partner, not your therapist.')
      : (alone ? 'Notes you shared with your therapist, and anything shared with you.' : 'Notes you shared, and notes shared with you.') }),
    couple ? form : '', // append(null) would show the word "null"
    entries
  );

  async function list() {
    /** @type {Note[]} */
    let notes;
    try {
      if (tab === 'private') {
        notes = /** @type {Note[]} */ (await api.get('/api/me/notes')).filter((n) => n.visibility === 'private' && n.author_id === me);
      } else {
        notes = couple ? /** @type {Note[]} */ (await api.get(api.path`/api/couples/${couple.id}/notes`)).filter((n) => n.visibility !== 'private') : [];
      }
    } catch (error) {
      entries.replaceChildren(h('p', { class: 'hint', text: api.isOffline(error) ? 'Notes are not kept on this phone; they show when you are online.' : api.messageOf(error) }));
      return;
    }
    entries.replaceChildren(
      ...(notes.length ? notes.map((n) => noteCard(n, { names, me, onChange: list })) : [empty(tab === 'private' ? 'No private notes yet.' : 'Nothing shared yet.')])
    );
  }
  await list();
}
