// @ts-check
// Small DOM helpers: every screen is built with these, never by parsing HTML strings, so text a person
// wrote can never become markup.
import { ApiError, messageOf } from './api.js';

const PROPS = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'required', 'open']);

/**
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag @param {Attrs | null} [attrs] @param {Child[]} children
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2).toLowerCase(), /** @type {EventListener} */ (value));
    else if (name === 'text') el.textContent = String(value);
    else if (PROPS.has(name)) Object.assign(el, { [name]: value });
    else el.setAttribute(name === 'className' ? 'class' : name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** @param {Element} el @param {Child[]} children */
function append(el, children) {
  for (const child of children) {
    if (Array.isArray(child)) append(el, child);
    else if (child !== null && child !== undefined && child !== false) {
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
  }
}

const SVG = 'http://www.w3.org/2000/svg';
/**
 * @template {keyof SVGElementTagNameMap} K
 * @param {K} tag @param {Record<string, string | number>} [attrs] @param {Child[]} children
 * @returns {SVGElementTagNameMap[K]}
 */
export function svg(tag, attrs = {}, ...children) {
  const el = /** @type {SVGElementTagNameMap[K]} */ (document.createElementNS(SVG, tag));
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  append(el, children);
  return el;
}

let uid = 0;
export const nextId = (prefix = 'f') => `${prefix}-${++uid}`;

// A labelled control; `hint` is tied to it with aria-describedby.
/** @param {string} label @param {HTMLElement} control @param {string | null} [hint] */
export function field(label, control, hint) {
  const id = control.id || nextId();
  control.id = id;
  const hintEl = hint ? h('p', { class: 'hint', id: `${id}-hint`, text: hint }) : null;
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
  return h('div', { class: 'field' }, h('label', { for: id, text: label }), control, hintEl);
}

/** @param {string} label @param {Attrs} [attrs] */
export function checkbox(label, attrs = {}) {
  const input = h('input', { type: 'checkbox', ...attrs });
  return h('label', { class: 'check' }, input, h('span', { text: label }));
}

// What the control called `name` within `scope` holds.
/** @param {ParentNode} scope @param {string} name */
export const valueIn = (scope, name) => /** @type {HTMLInputElement} */ (scope.querySelector(`[name="${name}"]`)).value;

// The box of a checkbox().
/** @param {Element} label */
export const inputOf = (label) => /** @type {HTMLInputElement} */ (label.querySelector('input'));

let sayTimer = 0;
/** @param {string} message */
export function say(message) {
  const status = /** @type {HTMLElement} */ (document.getElementById('status'));
  status.textContent = '';
  // A fresh text node each time so screen readers announce a repeated message again.
  setTimeout(() => {
    status.textContent = message;
  }, 30);
  clearTimeout(sayTimer);
  sayTimer = setTimeout(() => {
    status.textContent = '';
  }, 6000);
}

/** @param {string} message */
export function errorBox(message) {
  return h('p', { class: 'error', role: 'alert', text: message });
}

// A problem found before sending, about one control: shown next to it like the server's.
export class FieldProblem extends Error {
  /** @param {HTMLElement} control @param {string} message */
  constructor(control, message) {
    super(message);
    this.control = control;
  }
}

// The control a server error's path names: data-field or name, the longest prefix first
// ("quiet_hours.start" falls back to the "quiet_hours" group), then a unique leaf name.
/** @param {ParentNode | null} scope @param {string} path @returns {HTMLElement | null} */
function controlFor(scope, path) {
  if (!scope || !path) return null;
  const parts = path.split('.');
  for (let size = parts.length; size > 0; size--) {
    const key = CSS.escape(parts.slice(0, size).join('.'));
    /** @type {HTMLElement | null} */
    const found = scope.querySelector(`[data-field="${key}"], [name="${key}"]`);
    if (found) return found;
  }
  const leaf = CSS.escape(parts[parts.length - 1]);
  /** @type {NodeListOf<HTMLElement>} */
  const byLeaf = scope.querySelectorAll(`[data-field="${leaf}"], [name="${leaf}"]`);
  return byLeaf.length === 1 ? byLeaf[0] : null;
}

/** @param {ParentNode | null} scope */
export function clearFieldErrors(scope) {
  if (scope) for (const note of scope.querySelectorAll('.field-error')) removeError(note);
}

// Each error note's control, to unmark when the note goes.
/** @type {WeakMap<Element, HTMLElement>} */
const controlOf = new WeakMap();

/** @param {Element} note */
function removeError(note) {
  const control = controlOf.get(note);
  if (control) {
    control.removeAttribute('aria-invalid');
    const ids = (control.getAttribute('aria-describedby') || '').split(' ').filter((id) => id && id !== note.id);
    if (ids.length) control.setAttribute('aria-describedby', ids.join(' '));
    else control.removeAttribute('aria-describedby');
  }
  note.remove();
}

/** @param {HTMLElement} control @param {string} message */
export function showFieldError(control, message) {
  const anchor = control.closest('.field, fieldset, .check') || control;
  const note = h('p', { class: 'field-error', id: nextId('err'), text: message });
  controlOf.set(note, control);
  if (anchor === control) control.after(note);
  else anchor.append(note);
  control.setAttribute('aria-invalid', 'true');
  const ids = (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
  control.setAttribute('aria-describedby', [...ids, note.id].join(' '));
  control.addEventListener('input', () => removeError(note), { once: true });
  return note;
}

// Puts each error next to its control within `scope`; returns what found no place.
/** @param {ParentNode | null} scope @param {unknown} error @returns {string[]} */
export function placeErrors(scope, error) {
  clearFieldErrors(scope);
  if (error instanceof FieldProblem && error.control) {
    showFieldError(error.control, error.message);
    error.control.focus();
    return [];
  }
  const fields = error instanceof ApiError ? error.fields : [];
  if (!fields.length) return [messageOf(error)];
  const rest = [];
  let first = null;
  for (const f of fields) {
    const control = controlFor(scope, f.path);
    if (control) {
      showFieldError(control, f.message);
      first = first || control;
    } else {
      rest.push(f.where ? `${f.where}: ${f.message[0].toLowerCase()}${f.message.slice(1)}` : f.message);
    }
  }
  if (first) first.focus();
  return [...new Set(rest)];
}

// Runs an action from a button: disables it meanwhile; errors go next to the fields they
// concern, and the rest next to the form.
/**
 * @template T
 * @param {HTMLButtonElement | HTMLInputElement} button @param {() => T | Promise<T>} action
 * @param {HTMLElement} [errorSlot] @returns {Promise<T | undefined>}
 */
export async function busy(button, action, errorSlot) {
  const scope = button.form || (errorSlot && errorSlot.closest('form')) || button.closest('form, dialog, section, .card, .view');
  button.disabled = true;
  if (errorSlot) errorSlot.replaceChildren();
  clearFieldErrors(scope);
  try {
    return await action();
  } catch (error) {
    const rest = placeErrors(scope, error);
    if (rest.length && errorSlot) errorSlot.replaceChildren(...rest.map(errorBox));
    else if (rest.length) say(rest.join(' '));
    return undefined;
  } finally {
    button.disabled = false;
  }
}

/** @param {string} titleText @param {string | Node | (string | Node)[]} content @param {Node} actions */
function dialogShell(titleText, content, actions) {
  const id = nextId('dialog');
  const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': id },
    h('h2', { id, text: titleText }),
    ...(Array.isArray(content) ? content : [content]).map((c) => (typeof c === 'string' ? h('p', { text: c }) : c)),
    actions);
  return dialog;
}

/**
 * @param {string} titleText @param {string | string[]} message @param {string} confirmLabel
 * @param {{ danger?: boolean }} [options] @returns {Promise<boolean>}
 */
export function confirmDialog(titleText, message, confirmLabel, { danger = false } = {}) {
  return new Promise((resolve) => {
    const dialog = dialogShell(titleText, message,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'secondary', text: 'Cancel', onclick: () => dialog.close('no') }),
        h('button', {
          type: 'button',
          class: danger ? 'danger' : 'primary',
          text: confirmLabel,
          onclick: () => dialog.close('yes'),
        })));
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'yes');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// Asks for the password again before something that can't be undone; `action(password)` runs
// inside the dialog, so a wrong password is said there and nothing typed is lost.
/**
 * @template T
 * @param {string} titleText @param {(string | Node)[]} content @param {string} confirmLabel
 * @param {(password: string) => Promise<T>} action @param {{ danger?: boolean }} [options]
 * @returns {Promise<T | true | null>} null: cancelled
 */
export function passwordDialog(titleText, content, confirmLabel, action, { danger = false } = {}) {
  return new Promise((resolve) => {
    // Not required: an account from the practice's sign-in has no password (the server then
    // asks for a recent sign-in instead, and says so).
    const password = h('input', { type: 'password', class: 'input', name: 'password', autocomplete: 'current-password' });
    const errors = h('div');
    const confirm = h('button', { type: 'submit', class: danger ? 'danger' : 'primary', text: confirmLabel });
    /** @type {T | undefined} */
    let result;
    const form = h('form', {
      class: 'stack',
      onsubmit: (event) => {
        event.preventDefault();
        busy(confirm, async () => {
          result = await action(password.value);
          dialog.close('yes');
        }, errors);
      },
    }, field('Your password', password, 'Signed in through your practice? Leave it empty.'), errors,
    h('div', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', text: 'Cancel', onclick: () => dialog.close('no') }),
      confirm));
    const dialog = dialogShell(titleText, content, form);
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve(dialog.returnValue === 'yes' ? result ?? true : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    password.focus();
  });
}

/** @param {string} text */
export function title(text) {
  document.title = text ? `${text} · Tandem` : 'Tandem';
  return h('h1', { text });
}

/** @param {string} text */
export function empty(text) {
  return h('p', { class: 'empty', text });
}

// --- dates ---------------------------------------------------------------------------------

/** @param {string} [timeZone] @returns {LocalDate} */
export function todayIn(timeZone) {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone }).format(new Date());
  } catch {
    return new Intl.DateTimeFormat('en-CA').format(new Date());
  }
}

/** @param {LocalDate} iso @param {number} days @returns {LocalDate} */
export function addDays(iso, days) {
  const d = new Date(`${iso}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

// The Monday starting the week that contains `iso` (a local date).
/** @param {LocalDate} iso */
export function mondayOf(iso) {
  const day = new Date(`${iso}T00:00:00Z`).getUTCDay();
  return addDays(iso, -((day + 6) % 7));
}

/** @param {LocalDate} weekStart */
export function weekLabel(weekStart) {
  const fmt = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', timeZone: 'UTC' });
  const start = new Date(`${weekStart}T00:00:00Z`);
  const end = new Date(`${addDays(weekStart, 6)}T00:00:00Z`);
  return `${fmt.format(start)} – ${fmt.format(end)}`;
}

/** @param {LocalDate | Instant} iso */
export function shortDate(iso) {
  const d = iso.length === 10 ? new Date(`${iso}T00:00:00Z`) : new Date(iso);
  /** @type {Intl.DateTimeFormatOptions} */
  const opts = { weekday: 'short', day: 'numeric', month: 'short' };
  if (iso.length === 10) opts.timeZone = 'UTC';
  return new Intl.DateTimeFormat(undefined, opts).format(d);
}

// "just now", "5 min. ago", "2 hr. ago", "3 days ago"; older than a month: the date.
/** @param {Instant} iso */
export function ago(iso) {
  const seconds = (Date.now() - new Date(iso).getTime()) / 1000;
  if (!(seconds >= 0) || seconds < 60) return 'just now';
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto', style: 'short' });
  if (seconds < 3600) return rtf.format(-Math.floor(seconds / 60), 'minute');
  if (seconds < 86400) return rtf.format(-Math.floor(seconds / 3600), 'hour');
  if (seconds < 30 * 86400) return rtf.format(-Math.floor(seconds / 86400), 'day');
  return dateTime(iso);
}

/** @param {Instant} iso */
export function dateTime(iso) {
  return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

export const uuid = () =>
  crypto.randomUUID
    ? crypto.randomUUID()
    : '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (c) =>
        (+c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (+c / 4)))).toString(16)
      );

/** @type {Record<Visibility, { label: string, who: string, alone?: string }>} */
export const VISIBILITY = {
  // `alone`: the words when there is no partner in the couple.
  private: { label: 'Only me', who: 'Nobody else can read this: not your partner, not your therapist.', alone: 'Nobody else can read this, not even your therapist.' },
  partner: { label: 'Me and my partner', who: 'Your partner can read this. Your therapist cannot.' },
  therapist: { label: 'Me and my therapist', who: 'Your therapist can read this. Your partner cannot.', alone: 'Your therapist can read this.' },
  care_team: { label: 'My partner and my therapist', who: 'Your partner and your therapist can both read this.' },
};

// `choices`: the visibilities that fit (no partner yet: nothing to share with one).
/** @param {string} name @param {Visibility} [selected] @param {Visibility[]} [choices] */
export function visibilityPicker(name, selected = 'private', choices = /** @type {Visibility[]} */ (Object.keys(VISIBILITY))) {
  const alone = !choices.includes('partner');
  const options = choices.map((value) => {
    const v = { ...VISIBILITY[value], who: (alone && VISIBILITY[value].alone) || VISIBILITY[value].who };
    const id = nextId('vis');
    const input = h('input', { type: 'radio', name, id, value, checked: value === selected });
    input.defaultChecked = value === selected; // what a form's reset() comes back to
    return h(
      'div',
      { class: 'radio' },
      input,
      h('label', { for: id }, h('strong', { text: v.label }), h('span', { class: 'hint', text: v.who }))
    );
  });
  return h('fieldset', { class: 'visibility' }, h('legend', { text: 'Who can read it' }), options);
}

// What a visibilityPicker() has chosen.
/** @param {Element} picker */
export function chosenVisibility(picker) {
  /** @type {HTMLInputElement | null} */
  const checked = picker.querySelector('input:checked');
  return /** @type {Visibility} */ (checked ? checked.value : 'private');
}

/** @type {Record<string, string>} */
export const CATEGORY = {
  sensate_focus: 'Sensate focus',
  communication: 'Communication',
  mindfulness: 'Mindfulness',
  education: 'Learning',
  intimacy_date: 'Time together',
  body_awareness: 'Body awareness',
  pelvic_floor: 'Pelvic floor',
  other: 'Other',
};
