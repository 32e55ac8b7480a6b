// @ts-check
// Choosing a time zone: a searchable list of the browser's own zones (Intl), defaulting to this
// device's. People type a city ("Berlin"); the app finds "Europe/Berlin" or says why it can't.
import { clearFieldErrors, field, FieldProblem, h, nextId, showFieldError } from './ui.js';

export const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

/** @type {string[] | null} */
let cached = null;
/** @returns {string[]} */
export function knownZones() {
  if (cached) return cached;
  try {
    cached = Intl.supportedValuesOf('timeZone');
  } catch {
    cached = []; // an older browser: the server still checks what is typed
  }
  if (cached.length && !cached.includes('UTC')) cached = [...cached, 'UTC'];
  return cached;
}

/** @param {string} zone */
const city = (zone) => zone.slice(zone.lastIndexOf('/') + 1).replace(/_/g, ' ').toLowerCase();

/** @param {string} name */
function accepted(name) {
  try {
    return new Intl.DateTimeFormat('en', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

// {zone} when what was typed names one time zone, else {problem}: a sentence saying why.
/** @param {unknown} typed @returns {{ zone: string, problem?: undefined } | { problem: string, zone?: undefined }} */
export function resolveZone(typed) {
  const text = String(typed || '').trim();
  if (!text) return { problem: 'Please choose a time zone.' };
  const zones = knownZones();
  const lower = text.toLowerCase();
  const exact = zones.find((z) => z.toLowerCase() === lower);
  if (exact) return { zone: exact };
  const named = text.includes('/') && accepted(text);
  if (named) return { zone: named };
  if (!zones.length) return { zone: text };
  const wanted = lower.replace(/_/g, ' ');
  const byCity = zones.filter((z) => city(z) === wanted);
  if (byCity.length === 1) return { zone: byCity[0] };
  const partial = byCity.length ? byCity : zones.filter((z) => z.toLowerCase().replace(/_/g, ' ').includes(wanted));
  if (partial.length === 1) return { zone: partial[0] };
  if (partial.length > 1 && partial.length <= 6) {
    return { problem: `Several time zones match “${text}”: ${partial.join(', ')}. Please choose one from the list.` };
  }
  if (partial.length > 6) return { problem: `Many time zones match “${text}”. Please type more of the city’s name and choose from the list.` };
  return { problem: `Tandem doesn’t know a time zone called “${text}”. Type a big city near you, such as Berlin or New York, and choose from the list.` };
}

/** @param {string} zone */
function localTime(zone) {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: zone, hour: 'numeric', minute: '2-digit' }).format(new Date());
  } catch {
    return null;
  }
}

// A labelled, searchable time zone input. `read()` gives the zone, or throws a FieldProblem
// shown next to it.
/** @param {string} label @param {{ value?: string, hint?: string, name?: string }} [options] */
export function timeZoneField(label, { value, hint, name = 'timezone' } = {}) {
  const zones = knownZones();
  const listId = nextId('zones');
  const input = h('input', {
    class: 'input',
    name,
    value: value || browserZone(),
    autocomplete: 'off',
    autocapitalize: 'words',
    spellcheck: 'false',
    list: zones.length ? listId : null,
  });
  const now = h('p', { class: 'hint', 'aria-live': 'polite' });
  /** @param {string} zone */
  const show = (zone) => {
    const time = localTime(zone);
    now.textContent = time ? `${zone}: it is ${time} there now.` : '';
  };
  const read = () => {
    const found = resolveZone(input.value);
    if (found.zone === undefined) {
      now.textContent = '';
      throw new FieldProblem(input, found.problem);
    }
    input.value = found.zone;
    show(found.zone);
    return found.zone;
  };
  const datalist = zones.length ? h('datalist', { id: listId }, zones.map((z) => h('option', { value: z }))) : null;
  const element = field(label, input, hint || 'Type a city to search, such as Berlin.');
  element.append(datalist || '', now);
  // Said as soon as the person leaves the field, not only when the form is sent.
  input.addEventListener('change', () => {
    clearFieldErrors(element);
    const found = resolveZone(input.value);
    if (found.zone !== undefined) {
      input.value = found.zone;
      show(found.zone);
    } else {
      now.textContent = '';
      showFieldError(input, found.problem);
    }
  });
  show(input.value);
  return { element, input, read };
}
