// @ts-check
// Settings: notifications on this device (only what is true now) and reminder times.
import * as api from '../api.js';
import * as push from '../push.js';
import { busy, checkbox, dateTime, field, h, inputOf, say } from '../ui.js';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
const WHY =
  'Tandem can remind you at the times you choose, and tell you when your partner logs a session ' +
  'you did together or your therapist publishes a new plan. Notifications are discreet: they only ' +
  'say “Something is waiting for you in Tandem”, never what it is.';

/** @param {string} heading @param {Child[]} children */
export function section(heading, ...children) {
  const id = `s-${heading.toLowerCase().replace(/[^a-z]+/g, '-')}`;
  return h('section', { class: 'card stack', 'aria-labelledby': id }, h('h2', { id, text: heading }), ...children);
}

const time = dateTime;

// What the screen says for a push.status() answer, and which buttons make sense then.
/** @param {PushStatus} s @returns {{ text: string, state: string, action?: string, fresh?: boolean, test?: boolean }} */
export function describeStatus(s) {
  if (s.permission === 'unsupported') return { text: 'This browser can’t show notifications from Tandem.', state: 'unsupported' };
  if (s.permission === 'denied') {
    return { text: 'Notifications are blocked for Tandem in this browser. To get them, allow notifications for this site in your browser’s settings, then come back here.', state: 'blocked' };
  }
  if (s.permission === 'default') return { text: 'Notifications are off on this device.', state: 'off', action: 'Turn on notifications' };
  if (!s.subscribed) return { text: 'Notifications are allowed, but this device is not set up to receive them yet.', state: 'not-set-up', action: 'Set up this device' };
  if (s.server === 'unreachable') return { text: 'Notifications are allowed on this device. Tandem can’t check right now whether they get through (no connection).', state: 'unchecked' };
  if (s.server === 'unknown' || !s.server) {
    return { text: 'Tandem can’t reach this device any more: its browser’s push service ended the registration. Set it up again to get notifications here.', state: 'gone', action: 'Set up again', fresh: true };
  }
  const { delivery, last_success_at: ok, last_failure_at: failed } = s.server;
  if (delivery === 'failing') {
    return { text: `Notifications are set up, but the last one could not be delivered to this device (${time(failed)}). Send a test, or set this device up again.`, state: 'failing', action: 'Set up again', fresh: true, test: true };
  }
  if (delivery === 'delivered') return { text: `Notifications are on for this device. The last one reached it ${time(ok)}.`, state: 'on', test: true };
  return { text: 'Notifications are on for this device. Nothing has been sent to it yet: send a test to check.', state: 'on', test: true };
}

export function notificationsSection() {
  const why = h('p', { text: WHY });
  const status = h('p', { class: 'status-line', 'data-testid': 'notification-status', role: 'status' });
  const result = h('p', { class: 'hint', 'aria-live': 'polite', 'data-testid': 'test-result' });
  const errors = h('div');
  const enable = h('button', { type: 'button', class: 'primary', hidden: true });
  const test = h('button', { type: 'button', class: 'secondary', text: 'Send me a test', hidden: true });
  /** @type {ReturnType<typeof describeStatus> | null} */
  let shown = null;

  async function refresh() {
    const lastStatus = await push.status();
    shown = describeStatus(lastStatus);
    status.textContent = shown.text;
    status.dataset.state = shown.state;
    enable.hidden = !shown.action;
    enable.textContent = shown.action || '';
    test.hidden = !shown.test;
    why.hidden = shown.state === 'on';
    return lastStatus;
  }

  enable.addEventListener('click', () => busy(enable, async () => {
    result.textContent = '';
    try {
      await push.enable({ fresh: Boolean(shown && shown.fresh) });
    } finally {
      await refresh();
    }
    if (shown?.state === 'on') say('Notifications are on for this device.');
  }, errors));

  test.addEventListener('click', () => busy(test, async () => {
    const before = (await refresh()).server;
    // A test is offered only once the server holds a record of this device.
    if (!shown?.test || !before || typeof before !== 'object') {
      result.textContent = 'No test was sent: this device can’t receive notifications yet.';
      return;
    }
    await push.sendTest();
    result.textContent = 'Test handed to Tandem’s sender. Waiting to hear whether it reached this device…';
    result.textContent = await watchDelivery(before);
    await refresh();
  }, errors));

  // A Promise, so Settings can show the rest of the screen while this is checked.
  refresh().catch(() => {
    status.textContent = 'Tandem can’t tell right now whether notifications work on this device.';
  });
  return section('Notifications', why, status, errors, h('div', { class: 'actions' }, enable, test), result);
}

// Polls this device's record until the test's fate is known (the worker sends within seconds).
/** @param {PushRecord} before */
async function watchDelivery(before, seconds = 30) {
  for (let i = 0; i < seconds; i++) {
    await new Promise((r) => {
      setTimeout(r, 1000);
    });
    const now = await push.status();
    const server = now.server && typeof now.server === 'object' ? now.server : null;
    if (!server) return 'The test could not be delivered: Tandem can no longer reach this device. Set it up again.';
    if (server.last_success_at && server.last_success_at !== before.last_success_at) {
      return `The test reached this device’s push service ${time(server.last_success_at)}. If no notification appeared, check that your phone allows notifications from this browser.`;
    }
    if (server.last_failure_at && server.last_failure_at !== before.last_failure_at) {
      return 'The test could not be delivered to this device. Tandem will try again for a few minutes; if it keeps failing, set this device up again.';
    }
  }
  return 'The test has not been delivered yet. Tandem keeps trying for 15 minutes.';
}

// Minutes before an agreed practice time (none: no reminder); a value set elsewhere is kept.
/** @param {number | null | undefined} current */
function leadTimeSelect(current) {
  /** @type {[number | null, string][]} */
  const choices = [[null, 'No reminder'], [10, '10 minutes before'], [15, '15 minutes before'],
    [30, '30 minutes before'], [60, '1 hour before'], [120, '2 hours before']];
  const value = current === undefined ? 30 : current;
  if (!choices.some(([v]) => v === value)) choices.push([value, `${value} minutes before`]);
  return h('select', { class: 'input', name: 'slot_lead_minutes' }, choices.map(([v, label]) =>
    h('option', { value: v === null ? '' : String(v), text: label, selected: v === value })));
}

export async function remindersSection() {
  /** @type {Reminders} */
  let prefs;
  try {
    prefs = await api.get('/api/me/reminders');
  } catch (error) {
    return section('Reminders', h('p', { class: 'hint', text: api.messageOf(error) }));
  }
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || prefs.timezone;
  const enabled = checkbox('Remind me', { checked: prefs.enabled, name: 'enabled' });
  const times = [0, 1, 2].map((i) => h('input', { type: 'time', class: 'input', value: (prefs.times || [])[i] || '', 'aria-label': `Reminder time ${i + 1}`, 'data-field': `times.${i}` }));
  const days = DAYS.map((d, i) => checkbox(d, { checked: (prefs.weekdays || [0, 1, 2, 3, 4, 5, 6]).includes(i), value: String(i) }));
  const quietStart = h('input', { type: 'time', class: 'input', id: 'quiet-start', value: prefs.quiet_hours ? prefs.quiet_hours.start : '', 'data-field': 'quiet_hours.start' });
  const quietEnd = h('input', { type: 'time', class: 'input', id: 'quiet-end', value: prefs.quiet_hours ? prefs.quiet_hours.end : '', 'data-field': 'quiet_hours.end' });
  const discreet = checkbox('Discreet: notifications just say “Something is waiting for you in Tandem”', { checked: prefs.discreet !== false, name: 'discreet' });
  const paused = h('input', { type: 'date', class: 'input', name: 'paused_until', value: prefs.paused_until || '' });
  const lead = leadTimeSelect(prefs.slot_lead_minutes);
  const nudges = checkbox('Let my partner send me a gentle nudge', { checked: prefs.nudges !== false, name: 'nudges' });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Save reminders' });
  return section('Reminders',
    h('form', {
      class: 'stack',
      onsubmit: (event) => {
        event.preventDefault();
        busy(button, async () => {
          const on = inputOf(enabled).checked;
          const body = {
            enabled: on,
            times: times.map((t) => t.value).filter(Boolean),
            weekdays: days.map(inputOf).filter((i) => i.checked).map((i) => Number(i.value)),
            quiet_hours: quietStart.value && quietEnd.value ? { start: quietStart.value, end: quietEnd.value } : null,
            timezone: zone,
            discreet: inputOf(discreet).checked,
            paused_until: paused.value || null,
            slot_lead_minutes: lead.value ? Number(lead.value) : null,
            nudges: inputOf(nudges).checked,
          };
          await api.put('/api/me/reminders', body);
          if (!on) {
            say('Reminders saved. Daily reminders are off.');
          } else if (push.permission() === 'granted') {
            say('Reminders saved.');
          } else if (push.permission() === 'default') {
            say('Reminders saved. Turn on notifications above so they can reach this device.');
          } else {
            say('Reminders saved. This device can’t show them: notifications are blocked or not supported here.');
          }
        }, errors);
      },
    },
    enabled,
    h('fieldset', { class: 'row', 'data-field': 'times' }, h('legend', { text: 'At' }), times),
    h('p', { class: 'hint', text: `Times are in ${zone}, this device’s time zone.` }),
    h('fieldset', { class: 'days', 'data-field': 'weekdays' }, h('legend', { text: 'On' }), days),
    h('fieldset', { class: 'row', 'data-field': 'quiet_hours' }, h('legend', { text: 'Quiet hours (from – to)' }),
      h('label', { class: 'sr-only', for: 'quiet-start', text: 'Quiet from' }), quietStart,
      h('label', { class: 'sr-only', for: 'quiet-end', text: 'Quiet until' }), quietEnd),
    field('Pause until', paused, 'Travel, illness, a break: no reminders until this day.'),
    field('Before a time you agreed on', lead, 'A reminder before each time you and your partner agreed on, even while daily reminders are off.'),
    nudges,
    discreet,
    errors,
    button));
}
