// @ts-check
// Settings: my details, notifications and reminders, the couple, the account (password,
// recovery code, devices, who read what), my data, sign-out.
import * as api from '../api.js';
import { busy, confirmDialog, field, h, say, title } from '../ui.js';
import { timeZoneField } from '../zones.js';
import { accessLogSection, deleteAccountButton, devicesSection, passwordSection } from './account.js';
import { calendarSection } from './calendar.js';
import { notificationsSection, remindersSection, section } from './notifications.js';

/** @param {SignedInState} state */
function detailsSection(state) {
  const name = h('input', { class: 'input', name: 'display_name', autocomplete: 'nickname', required: true, maxlength: '80', value: state.user.display_name });
  const zone = timeZoneField('Time zone', { value: state.user.timezone, hint: 'Your days and reminders follow it. Type a city to search.' });
  const errors = h('div');
  const button = h('button', { type: 'submit', class: 'primary', text: 'Save' });
  return section('Your details', h('form', {
    class: 'stack',
    onsubmit: (event) => {
      event.preventDefault();
      busy(button, async () => {
        state.user = await api.patch('/api/me', { display_name: name.value.trim(), timezone: zone.read() });
        say('Saved.');
      }, errors);
    },
  }, field('Your name', name, 'How others in Tandem see you.'), zone.element, errors, button));
}

/** @param {ViewContext} ctx */
function coupleSection({ state, go, loadSession }) {
  const couple = state.couple;
  if (!couple) return section('Your couple', h('a', { href: '#/join', class: 'button secondary', text: 'Join with a code' }));
  const errors = h('div');
  const members = couple.members || [];
  const therapist = members.find((m) => m.role === 'therapist');
  const leave = h('button', { type: 'button', class: 'danger', text: 'Leave this couple' });
  leave.addEventListener('click', async () => {
    const ok = await confirmDialog('Leave this couple?', 'You lose access to the shared plan and to what others shared. You keep everything you wrote, and can export or delete it.', 'Leave', { danger: true });
    if (!ok) return;
    await busy(leave, async () => {
      await api.post(api.path`/api/couples/${couple.id}/leave`);
      await loadSession();
      go('');
    }, errors);
  });
  /** @type {HTMLButtonElement | null} */
  let removeTherapist = null;
  if (therapist) {
    const button = h('button', { type: 'button', class: 'secondary danger-text', text: `Remove ${therapist.display_name} as your therapist` });
    removeTherapist = button;
    button.addEventListener('click', async () => {
      const ok = await confirmDialog(`Remove ${therapist.display_name}?`, [
        `${therapist.display_name} loses access to your couple at once: your plans, your progress and everything either of you shared with a therapist. They can no longer set your plan or your appointments.`,
        'Your partner keeps everything and sees that the therapist was removed. What you wrote stays yours. You can invite a therapist again at any time.',
      ], 'Remove therapist', { danger: true });
      if (!ok) return;
      await busy(button, async () => {
        await api.del(api.path`/api/couples/${couple.id}/members/${therapist.user_id}`);
        await loadSession();
        say(`${therapist.display_name} is no longer your therapist.`);
        go('settings');
      }, errors);
    });
  }
  /** @param {Member} m */
  const role = (m) => (m.role === 'therapist' ? 'therapist' : m.user_id === state.user.id ? 'you' : 'partner');
  return section('Your couple',
    h('ul', { class: 'plain', 'data-testid': 'members' }, members.map((m) => h('li', { text: `${m.display_name} (${role(m)})` }))),
    therapist ? null : h('p', { class: 'hint', text: 'You have no therapist in Tandem at the moment.' }),
    h('a', { href: '#/invite', class: 'button secondary', text: 'Invite your partner or a therapist' }),
    errors,
    h('div', { class: 'actions' }, removeTherapist, leave));
}

/** @param {ViewContext} ctx */
function dataSection(ctx) {
  const errors = h('div');
  const exportButton = h('button', { type: 'button', class: 'secondary', text: 'Download my data' });
  exportButton.addEventListener('click', () => busy(exportButton, () => api.download('/api/me/export', 'tandem-export.json'), errors));
  return section('Your data',
    h('p', { class: 'hint', text: 'A copy of everything you wrote, as a JSON file.' }),
    exportButton, errors, h('div', { class: 'actions' }, deleteAccountButton(ctx)));
}

/** @type {View} */
export async function render(root, ctx) {
  const { state, signOut } = ctx;
  root.append(title('Settings'), h('p', { class: 'lead break', text: `Signed in as ${state.user.display_name} (${state.user.email}).` }));
  const partner = state.user.role === 'partner';
  const [reminders, devices, accessLog, calendar] = await Promise.all([
    remindersSection(),
    devicesSection(ctx),
    partner ? accessLogSection(state) : null,
    partner ? calendarSection(state) : null,
  ]);
  const out = h('button', { type: 'button', class: 'primary', text: 'Sign out' });
  out.addEventListener('click', () => busy(out, () => signOut()));
  root.append(notificationsSection(), reminders);
  if (calendar) root.append(calendar);
  if (partner) root.append(coupleSection(ctx));
  root.append(detailsSection(state), accessLog || '', passwordSection(state), devices, dataSection(ctx), h('div', { class: 'actions' }, out));
}
