// @ts-check
// The plan editor for one couple and week: pick from the library, set targets, copy last week,
// save a draft, publish, amend a published plan (items keep their id, so no log is lost).
import * as api from '../api.js';
import * as drafts from '../drafts.js';
import { addDays, busy, CATEGORY, checkbox, field, h, say, title, weekLabel } from '../ui.js';

/** @param {string} coupleId @param {LocalDate} week @returns {Promise<Plan | null>} */
async function planFor(coupleId, week) {
  try {
    return await api.get(api.path`/api/couples/${coupleId}/plans/${week}`);
  } catch (error) {
    if (api.statusOf(error) === 404) return null;
    throw error;
  }
}

// One partner: an exercise for two would wait forever for someone who is not there (the
// server refuses it too). With none yet, the therapist may still plan ahead for two.
/** @param {Member[]} partners */
const soloCouple = (partners) => partners.length === 1;

/** @param {Exercise} exercise @param {Uuid[]} partnerIds @returns {DraftItem} */
function fromExercise(exercise, partnerIds) {
  return {
    exercise_id: exercise.id,
    title: exercise.title,
    mode: partnerIds.length === 1 ? 'individual' : exercise.default_mode || 'joint',
    times_per_week: exercise.default_times_per_week || 1,
    assignee_ids: [...partnerIds],
    minutes: exercise.default_minutes || null,
    instructions: '',
  };
}

/**
 * @param {DraftItem} item @param {number} index
 * @param {{ partners: Member[], onRemove: (index: number) => void, onMove: (index: number, delta: number) => void, count: number, published: boolean }} options
 */
function itemEditor(item, index, { partners, onRemove, onMove, count, published }) {
  const prefix = `item${index}`;
  const solo = soloCouple(partners);
  // A published item keeps its mode (its logs depend on it): remove it and add it again.
  const stuck = solo && item.mode === 'joint' && published && item.id;
  const mode = h('select', { class: 'input', id: `${prefix}-mode`, 'data-field': `items.${index}.mode`, disabled: Boolean(stuck), onchange: () => {
    item.mode = /** @type {Mode} */ (mode.value);
    who.hidden = item.mode !== 'individual';
  } },
  solo && !stuck ? null : h('option', { value: 'joint', text: 'Together', selected: item.mode === 'joint' }),
  h('option', { value: 'individual', text: 'On their own', selected: item.mode === 'individual' }));
  const modeHint = !solo ? null : stuck
    ? 'This couple has one partner now, so an exercise for two can’t be done. Remove it, and add it again as “On their own” if it suits.'
    : 'Only “On their own”: this couple has one partner.';
  const times = h('input', { type: 'number', class: 'input', 'data-field': `items.${index}.times_per_week`, min: '1', max: '14', value: String(item.times_per_week), oninput: () => { item.times_per_week = Number(times.value); } });
  const minutes = h('input', { type: 'number', class: 'input', 'data-field': `items.${index}.minutes`, min: '1', max: '240', value: item.minutes ? String(item.minutes) : '', oninput: () => { item.minutes = minutes.value ? Number(minutes.value) : null; } });
  const instructions = h('textarea', { class: 'input', 'data-field': `items.${index}.instructions`, rows: '2', maxlength: '4000', value: item.instructions || '', oninput: () => { item.instructions = instructions.value; } });
  const who = h('fieldset', { class: 'row', 'data-field': `items.${index}.assignee_ids`, hidden: item.mode !== 'individual' }, h('legend', { text: 'Who' }),
    partners.map((p) => checkbox(p.display_name, {
      checked: (item.assignee_ids || []).includes(p.user_id),
      onchange: (/** @type {Event} */ event) => {
        const set = new Set(item.assignee_ids || []);
        if (/** @type {HTMLInputElement} */ (event.target).checked) set.add(p.user_id);
        else set.delete(p.user_id);
        item.assignee_ids = [...set];
      },
    })));
  return h('li', { class: 'card stack editor-item' },
    h('div', { class: 'item-head' }, h('h3', { text: item.title || 'Exercise' }),
      h('div', { class: 'actions tight' },
        index > 0 ? h('button', { type: 'button', class: 'icon', 'aria-label': `Move ${item.title} up`, text: '↑', onclick: () => onMove(index, -1) }) : null,
        index < count - 1 ? h('button', { type: 'button', class: 'icon', 'aria-label': `Move ${item.title} down`, text: '↓', onclick: () => onMove(index, 1) }) : null,
        h('button', { type: 'button', class: 'link danger-text', text: 'Remove', 'aria-label': `Remove ${item.title}`, onclick: () => onRemove(index) }))),
    h('div', { class: 'grid2' }, field('Mode', mode, modeHint), field('Times per week', times)),
    who,
    field('Minutes', minutes),
    field('Extra instructions for this couple', instructions));
}

/** @type {View} */
export async function render(root, { params, go }) {
  const [coupleId, week] = /** @type {[Uuid, LocalDate]} */ (params);
  /** @type {[Couple, Plan | null, Exercise[]]} */
  const [couple, plan, library] = await Promise.all([
    api.get(api.path`/api/couples/${coupleId}`),
    planFor(coupleId, week),
    api.get('/api/exercises'),
  ]);
  const partners = (couple.members || []).filter((m) => m.role === 'partner');
  const partnerIds = partners.map((p) => p.user_id);
  const byId = Object.fromEntries(library.map((e) => [e.id, e]));
  // Unsaved edits live in memory while the app is open: Back, another screen or a failed
  // save never throws them away.
  const draftKey = `plan:${coupleId}:${week}`;
  const draft = drafts.get(draftKey);
  /** @type {DraftItem[]} */
  let items = draft ? structuredClone(draft.items) : ((plan && plan.items) || []).map((i) => ({ ...i, title: i.title || (byId[i.exercise_id] || {}).title }));
  const published = Boolean(plan && plan.status === 'published');
  // A draft made while there were two partners: its exercises for two become individual
  // (said on screen; nothing is saved until the therapist saves).
  const changed = !published && soloCouple(partners) ? items.filter((i) => i.mode === 'joint') : [];
  for (const item of changed) {
    item.mode = 'individual';
    item.assignee_ids = [...partnerIds];
  }

  root.append(
    h('p', { class: 'eyebrow', text: couple.label }),
    title(`Plan for ${weekLabel(week)}`),
    h('p', { class: 'lead' }, h('span', { class: `badge ${published ? 'published' : 'draft'}`, text: published ? 'Published' : plan ? 'Draft' : 'New' }),
      published ? ' Partners see this plan. Saving amends it; their logs are kept.' : ' Partners see it only once you publish.'),
    h('div', { class: 'actions' },
      h('a', { href: `#/couple/${coupleId}/plan/${addDays(week, -7)}`, class: 'button secondary', text: '← Previous' }),
      h('a', { href: `#/couple/${coupleId}/plan/${addDays(week, 7)}`, class: 'button secondary', text: 'Next →' }))
  );
  if (changed.length) {
    root.append(h('p', { class: 'card note-from', role: 'note', text: `This couple has one partner now, so ${changed.length === 1 ? 'one exercise for two is' : `${changed.length} exercises for two are`} set to “On their own”. Save to keep it that way.` }));
  }

  const note = h('textarea', { class: 'input', 'data-field': 'note', rows: '3', maxlength: '4000', value: draft ? draft.note : (plan && plan.note) || '' });
  const keep = () => drafts.set(draftKey, { items: structuredClone(items), note: note.value });
  const unsaved = h('div', { class: 'card notice', role: 'status', 'data-testid': 'plan-draft', hidden: !draft },
    h('p', { text: 'You have unsaved changes to this plan, kept while Tandem is open. Save or publish to keep them.' }),
    h('button', { type: 'button', class: 'link', text: 'Discard my changes', onclick: () => { drafts.forget(draftKey); go(`couple/${coupleId}/plan/${week}`); } }));
  /** @param {Event} event */
  const edited = (event) => {
    if (/** @type {Element} */ (event.target).id === 'library-pick') return; // choosing what to add changes nothing yet
    keep();
    unsaved.hidden = false;
  };
  root.addEventListener('input', edited);
  root.addEventListener('change', edited);
  window.addEventListener('hashchange', () => {
    if (drafts.has(draftKey)) say('Your unsaved plan changes are kept while Tandem is open.');
  }, { once: true });
  const list = h('ol', { class: 'plain stack' });
  const draw = () => {
    keep();
    unsaved.hidden = false;
    drawList();
  };
  const drawList = () => list.replaceChildren(...(items.length ? items.map((item, i) => itemEditor(item, i, {
    partners,
    published,
    count: items.length,
    onRemove: (index) => { items.splice(index, 1); draw(); },
    onMove: (index, delta) => {
      const [moved] = items.splice(index, 1);
      items.splice(index + delta, 0, moved);
      draw();
    },
  })) : [h('li', { class: 'empty', text: 'No exercises yet. Add one from the library below.' })]));
  drawList();
  root.append(unsaved);

  const picker = h('select', { class: 'input', id: 'library-pick' }, h('option', { value: '', text: 'Choose an exercise…' }),
    Object.entries(CATEGORY).map(([key, label]) => {
      const group = library.filter((e) => e.category === key);
      return group.length ? h('optgroup', { label }, group.map((e) => h('option', { value: e.id, text: `${e.title}${e.stage ? ` (stage ${e.stage})` : ''}${e.custom ? ' · yours' : ''}` }))) : null;
    }));
  const add = h('button', { type: 'button', class: 'secondary', text: 'Add to the plan', onclick: () => {
    const exercise = byId[picker.value];
    if (!exercise) return;
    items.push(fromExercise(exercise, partnerIds));
    picker.value = '';
    draw();
    say(`${exercise.title} added.`);
  } });

  const errors = h('div');
  const body = () => ({
    note: note.value,
    items: items.map((i) => {
      /** @type {Omit<DraftItem, 'title'>} */
      const out = { exercise_id: i.exercise_id, mode: i.mode, times_per_week: i.times_per_week };
      // No partner has joined yet: leave it to "both partners, whoever joins".
      if (partnerIds.length) out.assignee_ids = i.mode === 'individual' ? i.assignee_ids || [] : partnerIds;
      if (i.id) out.id = i.id;
      if (i.minutes) out.minutes = i.minutes;
      if (i.instructions) out.instructions = i.instructions;
      return out;
    }),
  });
  const base = api.path`/api/couples/${coupleId}/plans/${week}`;
  const save = h('button', { type: 'button', class: 'secondary', text: published ? 'Save changes' : 'Save draft' });
  save.addEventListener('click', () => busy(save, async () => {
    await api.put(base, body());
    drafts.forget(draftKey);
    say(published ? 'Plan amended.' : 'Draft saved.');
    go(`couple/${coupleId}/plan/${week}`);
  }, errors));
  const publish = h('button', { type: 'button', class: 'primary', text: published ? 'Save and keep published' : 'Publish' });
  publish.addEventListener('click', () => busy(publish, async () => {
    await api.put(base, body());
    await api.post(`${base}/publish`);
    drafts.forget(draftKey);
    say('Published. The partners can see it now.');
    go(`couple/${coupleId}`);
  }, errors));
  const copyLast = h('button', { type: 'button', class: 'secondary', text: 'Copy last week' });
  copyLast.addEventListener('click', () => busy(copyLast, async () => {
    const last = await planFor(coupleId, addDays(week, -7));
    if (!last || !(last.items || []).length) throw new Error('Last week has no plan to copy.');
    items = last.items.map(({ id: _id, progress: _p, sessions: _s, ...rest }) =>
      soloCouple(partners) && rest.mode === 'joint' ? { ...rest, mode: 'individual', assignee_ids: [...partnerIds] } : { ...rest });
    if (!note.value) note.value = last.note || '';
    draw();
    say('Last week copied. Save or publish to keep it.');
  }, errors));
  const forward = plan ? h('button', { type: 'button', class: 'secondary', text: 'Copy to next week' }) : null;
  if (forward) forward.addEventListener('click', () => busy(forward, async () => {
    await api.post(`${base}/copy-forward`);
    go(`couple/${coupleId}/plan/${addDays(week, 7)}`);
  }, errors));

  root.append(
    h('section', { class: 'stack', 'aria-labelledby': 'plan-items' }, h('h2', { id: 'plan-items', text: 'Exercises' }), list,
      h('div', { class: 'card stack' }, field('From the library', picker), add)),
    field('Note to the couple', note, 'Shown at the top of their week.'),
    errors,
    h('div', { class: 'actions' }, copyLast, forward),
    h('div', { class: 'actions' }, save, publish)
  );
}
