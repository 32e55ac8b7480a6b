// @ts-check
// The private calendar feed in Settings (turn on, copy the link, new link, turn off), and an
// appointment as a one-off .ics download. The feed link is shown once, right after it is made,
// and kept in this screen's memory only: the server never gives it out again.
import * as api from '../api.js';
import { busy, checkbox, dateTime, h, inputOf, say } from '../ui.js';

/** @param {Child[]} children */
function section(...children) {
  return h('section', { class: 'card stack', 'aria-labelledby': 's-calendar' },
    h('h2', { id: 's-calendar', text: 'Calendar' }), ...children);
}

/** @param {string} text */
async function copy(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return true;
  }
  return false;
}

/** @param {AppState} state */
export async function calendarSection(state) {
  if (!state.couple) return null; // nothing to show before joining the couple
  /** @type {Feed} */
  let status;
  try {
    status = await api.get('/api/me/calendar-feed');
  } catch (error) {
    return section(h('p', { class: 'hint', text: api.messageOf(error) }));
  }
  const body = h('div', { class: 'stack' });
  const root = section(
    h('p', { class: 'hint', text: 'Your agreed practice times and your appointments, in your own calendar app. Titles stay discreet: “Tandem” and “Time together”. No notes, check-ins or preparation ever go into it.' }),
    body);
  const errors = h('div');

  /** @param {Feed} current @param {string} [url] shown once, right after it is made */
  function render(current, url) {
    const names = checkbox('Show exercise names in my calendar', { checked: current.enabled && !current.discreet });
    const namesInput = inputOf(names);
    if (!current.enabled) {
      const on = h('button', { type: 'button', class: 'primary', text: 'Turn on calendar feed' });
      on.addEventListener('click', () => busy(on, async () => {
        const made = await api.post('/api/me/calendar-feed', { discreet: !namesInput.checked });
        render(await api.get('/api/me/calendar-feed'), made.url);
        say('Calendar feed is on. Copy the link into your calendar app.');
      }, errors));
      body.replaceChildren(names, errors, on);
      return;
    }
    namesInput.addEventListener('change', () => busy(namesInput, async () => {
      await api.patch('/api/me/calendar-feed', { discreet: !namesInput.checked });
      say(namesInput.checked ? 'Your calendar will show exercise names.' : 'Your calendar shows discreet titles only.');
    }, errors));
    /** @type {HTMLElement[]} */
    const parts = [h('p', { text: `Calendar feed is on (link made ${dateTime(current.created_at)}).` })];
    if (url) {
      const field = h('input', { class: 'input', readonly: true, value: url, id: 'feed-url', 'aria-describedby': 'feed-url-hint' });
      const copyButton = h('button', { type: 'button', class: 'secondary', text: 'Copy link' });
      copyButton.addEventListener('click', () => busy(copyButton, async () => {
        if (await copy(url)) say('Link copied. Paste it into your calendar app as a subscription.');
        else {
          field.select();
          say('Select the link and copy it.');
        }
      }, errors));
      parts.push(
        h('label', { for: 'feed-url', text: 'Your private link' }),
        field,
        h('p', { class: 'hint', id: 'feed-url-hint', text: 'Shown only now. Anyone with this link can see these times: keep it to yourself.' }),
        copyButton);
    } else {
      parts.push(h('p', { class: 'hint', text: 'For safety the link is shown only once. Lost it? Make a new one: the old one stops working.' }));
    }
    const renew = h('button', { type: 'button', class: 'secondary', text: 'Make a new link' });
    renew.addEventListener('click', () => busy(renew, async () => {
      const made = await api.post('/api/me/calendar-feed', { discreet: !namesInput.checked });
      render(await api.get('/api/me/calendar-feed'), made.url);
      say('New link made. The old one no longer works.');
    }, errors));
    const off = h('button', { type: 'button', class: 'danger', text: 'Turn off calendar feed' });
    off.addEventListener('click', () => busy(off, async () => {
      await api.del('/api/me/calendar-feed');
      render(await api.get('/api/me/calendar-feed'));
      say('Calendar feed is off. The link no longer works.');
    }, errors));
    body.replaceChildren(...parts, names, errors, h('div', { class: 'actions' }, renew, off));
  }

  render(status);
  return root;
}

// "Add to my calendar" for the next appointment: a file made by the server, downloaded
// without the access token ever leaving memory.
/** @param {Uuid} coupleId */
export function appointmentDownload(coupleId) {
  const errors = h('div');
  const button = h('button', { type: 'button', class: 'link', text: 'Add to my calendar' });
  button.addEventListener('click', () => busy(button, async () => {
    const text = await api.get(`/api/couples/${encodeURIComponent(coupleId)}/next-appointment.ics`);
    const url = URL.createObjectURL(new Blob([text], { type: 'text/calendar' }));
    const link = h('a', { href: url, download: 'tandem-appointment.ics' });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }, errors));
  return h('span', {}, button, errors);
}
