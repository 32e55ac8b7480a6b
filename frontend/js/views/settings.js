// Settings: reminders, notifications, signed-in devices, the couple, export, deletion, sign-out.
import * as api from '../api.js';
import { loadSession, signOut } from '../app.js';
import * as push from '../push.js';
import { busy, checkbox, confirmDialog, dateTime, field, h, say, title } from '../ui.js';
import { calendarSection } from './calendar.js';

const DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

function section(heading, ...children) {
  const id = `s-${heading.toLowerCase().replace(/[^a-z]+/g, '-')}`;
  return h('section', { class: 'card stack', 'aria-labelledby': id }, h('h2', { id, text: heading }), ...children);
}

// Minutes before an agreed practice time (none: no reminder); a value set elsewhere is kept.
function leadTimeSelect(current) {
  const choices = [[null, 'No reminder'], [10, '10 minutes before'], [15, '15 minutes before'],
    [30, '30 minutes before'], [60, '1 hour before'], [120, '2 hours before']];
  const value = current === undefined ? 30 : current;
  if (!choices.some(([v]) => v === value)) choices.push([value, `${value} minutes before`]);
  return h('select', { class: 'input' }, choices.map(([v, label]) =>
    h('option', { value: v === null ? '' : String(v), text: label, selected: v === value })));
}

async function remindersSection() {
  let prefs;
  try {
    prefs = await api.get('/api/me/reminders');
  } catch (error) {
    return section('Reminders', h('p', { class: 'hint', text: error.status === 404 ? 'Reminders are not available on this server yet.' : error.message }));
  }
  const enabled = checkbox('Remind me', { checked: prefs.enabled });
  const times = [0, 1, 2].map((i) => h('input', { type: 'time', class: 'input', value: (prefs.times || [])[i] || '', 'aria-label': `Reminder time ${i + 1}` }));
  const days = DAYS.map((d, i) => checkbox(d, { checked: (prefs.weekdays || [0, 1, 2, 3, 4, 5, 6]).includes(i), value: String(i) }));
  const quietStart = h('input', { type: 'time', class: 'input', value: prefs.quiet_hours ? prefs.quiet_hours.start : '' });
  const quietEnd = h('input', { type: 'time', class: 'input', value: prefs.quiet_hours ? prefs.quiet_hours.end : '' });
  const discreet = checkbox('Discreet: notifications just say “Something is waiting for you in Tandem”', { checked: prefs.discreet !== false });
  const paused = h('input', { type: 'date', class: 'input', value: prefs.paused_until || '' });
  const lead = leadTimeSelect(prefs.slot_lead_minutes);
  const nudges = checkbox('Let my partner send me a gentle nudge', { checked: prefs.nudges !== false });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Save reminders' });
  return section('Reminders',
    h('form', {
      class: 'stack',
      onsubmit: (event) => {
        event.preventDefault();
        busy(button, async () => {
          const on = enabled.querySelector('input').checked;
          const body = {
            enabled: on,
            times: times.map((t) => t.value).filter(Boolean),
            weekdays: days.map((d) => d.querySelector('input')).filter((i) => i.checked).map((i) => Number(i.value)),
            quiet_hours: quietStart.value && quietEnd.value ? { start: quietStart.value, end: quietEnd.value } : null,
            timezone: Intl.DateTimeFormat().resolvedOptions().timeZone || prefs.timezone,
            discreet: discreet.querySelector('input').checked,
            paused_until: paused.value || null,
            slot_lead_minutes: lead.value ? Number(lead.value) : null,
            nudges: nudges.querySelector('input').checked,
          };
          await api.put('/api/me/reminders', body);
          say('Reminders saved.');
          if (on && push.permission() === 'default') {
            await push.enable().catch((e) => say(e.message));
          }
        }, errors);
      },
    },
    enabled,
    h('fieldset', { class: 'row' }, h('legend', { text: 'At' }), times),
    h('fieldset', { class: 'days' }, h('legend', { text: 'On' }), days),
    h('fieldset', { class: 'row' }, h('legend', { text: 'Quiet hours (from – to)' }),
      h('label', { class: 'sr-only', for: 'quiet-start', text: 'Quiet from' }), Object.assign(quietStart, { id: 'quiet-start' }),
      h('label', { class: 'sr-only', for: 'quiet-end', text: 'Quiet until' }), Object.assign(quietEnd, { id: 'quiet-end' })),
    field('Pause until', paused, 'Travel, illness, a break: no reminders until this day.'),
    field('Before a time you agreed on', lead, 'A reminder before each time you and your partner agreed on, even while daily reminders are off.'),
    nudges,
    discreet,
    errors,
    button));
}

function notificationsSection() {
  const status = h('p', { class: 'hint' });
  const show = () => {
    status.textContent = {
      granted: 'Notifications are on for this device.',
      denied: 'Notifications are blocked in this browser’s settings.',
      default: 'Notifications are off for this device.',
      unsupported: 'This browser cannot show notifications from Tandem.',
    }[push.permission()];
  };
  show();
  const errors = h('div');
  const enable = h('button', { type: 'button', class: 'secondary', text: 'Turn on notifications' });
  enable.addEventListener('click', () => busy(enable, async () => {
    await push.enable();
    show();
    say('Notifications are on.');
  }, errors));
  const test = h('button', { type: 'button', class: 'secondary', text: 'Send me a test' });
  test.addEventListener('click', () => busy(test, async () => {
    await push.sendTest();
    say('Test sent. It should arrive in a moment.');
  }, errors));
  return section('Notifications', status, errors, h('div', { class: 'actions' }, enable, test));
}

async function devicesSection() {
  const list = h('ul', { class: 'plain' });
  const errors = h('div');
  async function load() {
    const sessions = await api.get('/api/me/sessions');
    list.replaceChildren(...sessions.map((s) => {
      const out = h('button', { type: 'button', class: 'link', text: 'Sign that device out' });
      out.addEventListener('click', () => busy(out, async () => {
        await api.del(`/api/me/sessions/${s.id}`);
        await load();
      }, errors));
      return h('li', {}, h('span', { text: `${s.device ? s.device.slice(0, 40) : 'A device'}${s.current ? ' (this one)' : ''} · ${dateTime(s.last_used_at)}` }), s.current ? null : out);
    }));
  }
  await load().catch((e) => errors.replaceChildren(h('p', { class: 'hint', text: e.message })));
  const everywhere = h('button', { type: 'button', class: 'secondary', text: 'Sign out everywhere' });
  everywhere.addEventListener('click', async () => {
    if (!(await confirmDialog('Sign out everywhere?', 'Every device, this one too, will need the password again.', 'Sign out everywhere'))) return;
    await busy(everywhere, async () => {
      await api.del('/api/me/sessions');
      await signOut({ server: false });
    }, errors);
  });
  return section('Signed-in devices', list, errors, everywhere);
}

function coupleSection(state, go) {
  const couple = state.couple;
  if (!couple) return section('Your couple', h('a', { href: '#/join', class: 'button secondary', text: 'Join with a code' }));
  const errors = h('div');
  const leave = h('button', { type: 'button', class: 'danger', text: 'Leave this couple' });
  leave.addEventListener('click', async () => {
    const ok = await confirmDialog('Leave this couple?', 'You lose access to the shared plan and to what others shared. You keep everything you wrote, and can export or delete it.', 'Leave', { danger: true });
    if (!ok) return;
    await busy(leave, async () => {
      await api.post(`/api/couples/${couple.id}/leave`);
      await loadSession();
      go('');
    }, errors);
  });
  return section('Your couple',
    h('ul', { class: 'plain' }, (couple.members || []).map((m) => h('li', { text: `${m.display_name} (${m.role === 'therapist' ? 'therapist' : m.user_id === state.user.id ? 'you' : 'partner'})` }))),
    h('a', { href: '#/invite', class: 'button secondary', text: 'Invite your partner or a therapist' }),
    errors,
    leave);
}

function dataSection() {
  const errors = h('div');
  const exportButton = h('button', { type: 'button', class: 'secondary', text: 'Download my data' });
  exportButton.addEventListener('click', () => busy(exportButton, () => api.download('/api/me/export', 'tandem-export.json'), errors));
  // The server asks for the password again before deleting (an account from the practice's
  // sign-in has none: it sends nothing and needs a recent sign-in instead).
  const password = h('input', { type: 'password', name: 'password', autocomplete: 'current-password' });
  const removeErrors = h('div');
  const remove = h('button', { type: 'button', class: 'danger', text: 'Delete my account' });
  remove.addEventListener('click', async () => {
    const ok = await confirmDialog('Delete your account?', 'Everything you wrote is deleted at once and cannot be brought back. Your partner’s own entries stay theirs.', 'Delete my account', { danger: true });
    if (!ok) return;
    await busy(remove, async () => {
      await api.del('/api/me', password.value ? { password: password.value } : undefined);
      await signOut({ server: false, queue: 'discard' });
    }, removeErrors);
  });
  return section('Your data',
    h('p', { class: 'hint', text: 'A copy of everything you wrote, as a JSON file.' }),
    exportButton, errors,
    field('Your password, to delete your account', password, 'If you sign in through your practice, leave this empty.'),
    removeErrors, remove);
}

export async function render(root, { state, go }) {
  root.append(title('Settings'), h('p', { class: 'lead', text: `Signed in as ${state.user.display_name} (${state.user.email}).` }));
  const [reminders, devices, calendar] = await Promise.all([
    remindersSection(), devicesSection(), state.user.role === 'partner' ? calendarSection(state) : null,
  ]);
  const out = h('button', { type: 'button', class: 'primary', text: 'Sign out' });
  out.addEventListener('click', () => busy(out, () => signOut()));
  root.append(reminders, notificationsSection());
  if (calendar) root.append(calendar);
  if (state.user.role === 'partner') root.append(coupleSection(state, go));
  root.append(devices, dataSection(), h('div', { class: 'actions' }, out));
}
