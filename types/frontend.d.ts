// The shapes the PWA in frontend/ shares between its modules: what the API answers (SPEC §4, and
// backend/tandem/*/models.py `...Read`), the app's state and what every screen receives.
// Global types for the JSDoc in frontend/ (checked by `tsc -p tsconfig.json`). This file lives
// outside frontend/ on purpose: the server ships every file there to every phone, and a browser
// never needs types.

// --- the API: people and couples ------------------------------------------------------------

type Uuid = string;
/** An ISO 8601 instant with its offset, as the server sends it. */
type Instant = string;
/** A local date, YYYY-MM-DD. */
type LocalDate = string;

type Role = 'partner' | 'therapist';
type Visibility = 'private' | 'partner' | 'therapist' | 'care_team';
type Mode = 'joint' | 'individual';

/** GET /api/me. */
interface User {
  id: Uuid;
  email: string;
  display_name: string;
  role: Role;
  timezone: string;
}

/** POST /api/auth/register: the recovery code is shown this once. */
interface RegisteredUser extends User {
  recovery_code: string;
}

interface Member {
  user_id: Uuid;
  display_name: string;
  role: Role;
}

interface FormerMember extends Member {
  left_at: Instant;
}

interface Count {
  done: number;
  target: number;
}

/** GET /api/couples/{id}. */
interface Couple {
  id: Uuid;
  label: string;
  timezone: string;
  members: Member[];
  this_week?: Count | null;
  /** Who left while the reader was a member, newest first. */
  former_members?: FormerMember[];
}

interface Invitation {
  id: Uuid;
  role: Role;
  expires_at: Instant;
  /** Only in the answer that creates it. */
  code?: string;
}

/** What an invitation code offers, shown before it is accepted. */
interface InvitationPreview {
  role: Role;
  therapist: TherapistProfile | null;
}

// --- plans, their items and the logged sessions ---------------------------------------------

type LogStatus = 'done' | 'awaiting_partner' | 'disputed' | 'withdrawn';
type WithdrawnReason = 'author_left' | 'partner_left';

/** A logged practice session (the API calls it a session). */
interface SessionLog {
  id: Uuid;
  plan_item_id: Uuid;
  logged_by: Uuid;
  done_on: LocalDate;
  status: LogStatus;
  confirmed_by: Uuid | null;
  disputed_by: Uuid | null;
  client_id: Uuid;
  created_at: Instant;
  /** Only for the members who were there when it was said. */
  dispute_reason?: string | null;
  withdrawn_reason?: WithdrawnReason | null;
}

interface PartnerCount extends Count {
  user_id: Uuid;
}

interface ItemProgress extends Count {
  awaiting_partner: number;
  /** Each assignee's own count: "2 of 7" and "3 of 7", never "5 of 14". */
  by_partner: PartnerCount[];
}

interface PlanItem {
  id: Uuid;
  exercise_id: Uuid;
  title: string;
  mode: Mode;
  assignee_ids: Uuid[];
  times_per_week: number;
  minutes: number;
  instructions: string;
  progress: ItemProgress;
  sessions: SessionLog[];
}

interface Plan {
  id: Uuid;
  couple_id: Uuid;
  week_start: LocalDate;
  status: 'draft' | 'published';
  note: string;
  items: PlanItem[];
}

/** An item as the plan editor holds it: what the PUT body takes, before it is saved. */
interface DraftItem {
  id?: Uuid;
  exercise_id: Uuid;
  title: string;
  mode: Mode;
  times_per_week: number;
  assignee_ids?: Uuid[];
  minutes?: number | null;
  instructions?: string;
}

interface Exercise {
  id: Uuid;
  title: string;
  category: string;
  stage: number | null;
  rationale: string;
  instructions: string;
  boundaries: string | null;
  default_minutes: number;
  default_mode: Mode;
  default_times_per_week: number;
  custom: boolean;
}

type SlotStatus = 'proposed' | 'accepted' | 'declined' | 'cancelled';

/** An agreed practice time. */
interface Slot {
  id: Uuid;
  plan_item_id: Uuid;
  starts_at: Instant;
  proposed_by: Uuid | null;
  status: SlotStatus;
}

// --- the journal ----------------------------------------------------------------------------

type RatingKey = 'closeness' | 'enjoyment' | 'comfort' | 'anxiety';
type Ratings = Partial<Record<RatingKey, number | null>>;

interface CheckIn {
  id: Uuid;
  author_id: Uuid;
  plan_item_id?: Uuid | null;
  session_id?: Uuid | null;
  ratings: Ratings;
  obstacles: string | null;
  text: string | null;
  visibility: Visibility;
  created_at: Instant;
}

interface Note {
  id: Uuid;
  author_id: Uuid;
  body: string;
  visibility: Visibility;
  created_at: Instant;
  updated_at: Instant;
}

/** A note or a check-in: what both carry, and either's words. */
type JournalEntry = Pick<Note, 'author_id' | 'visibility' | 'created_at'> &
  Partial<Pick<Note, 'body'> & Pick<CheckIn, 'ratings' | 'obstacles' | 'text'>>;

// --- appointments and preparation ------------------------------------------------------------

interface Appointment {
  starts_at: Instant;
  note: string;
}

type PrepKey =
  | 'concern' | 'onset' | 'pattern' | 'professionals' | 'treatments'
  | 'medical' | 'life_changes' | 'medications' | 'questions';

interface PrepSection {
  key: PrepKey;
  text: string;
  visibility: Visibility;
}

interface Prep {
  appointment_id: Uuid;
  appointment_starts_at: Instant;
  sections: PrepSection[];
}

interface SharedPrep extends Prep {
  author_id: Uuid;
}

/** Every field optional: a therapist fills in what they like. */
interface TherapistProfile {
  display_name?: string | null;
  telehealth?: boolean | null;
  session_length_minutes?: number | null;
  [field: string]: string | number | boolean | null | undefined;
}

// --- questionnaires and goals ---------------------------------------------------------------

interface MeasureOption {
  value: number;
  label: string;
}

interface MeasureItem {
  key: string;
  text: string;
  options: MeasureOption[];
  required: boolean;
}

interface Band {
  min: number;
  max: number;
  label: string;
  plain?: string;
}

interface Measure {
  key: string;
  title: string;
  instructions: string;
  items: MeasureItem[];
  scoring: { bands?: Band[]; min?: number; max?: number; reliable_change?: number | null };
  recall_days: number | null;
  attribution: string;
}

interface MeasureResult {
  id: Uuid;
  respondent_id: Uuid;
  measure_key: string;
  measure_title: string;
  total: number;
  max_total: number;
  band: Band | null;
  submitted_at: Instant;
  reliable_change?: string | null;
  shared?: boolean;
  /** The therapist's answer only. */
  answers?: { text: string; label: string | null }[];
  risk?: boolean;
}

interface Assignment {
  id: Uuid;
  measure_key: string;
  measure_title: string;
  respondent_ids: Uuid[];
  cadence: 'once' | 'weekly' | 'biweekly' | 'before_appointment';
}

/** A risk answer awaiting the therapist; never shown to a partner. */
interface RiskFlag {
  id: Uuid;
  respondent_id: Uuid;
  measure_key: string;
  raised_at: Instant;
}

/** Goal Attainment Scaling: words for each level, -2 to 2. */
interface Goal {
  id: Uuid;
  title: string;
  levels: Record<string, string>;
  owner_id: Uuid | null;
  ratings: { level: number; rated_by: Uuid | null; rated_at: Instant }[];
}

interface GoalAttainment {
  /** null before any goal is rated. */
  t_score: number | null;
  goals: number;
  rated: number;
}

/** A questionnaire due for the caller now (it names nobody else). */
interface Due {
  assignment_id: Uuid;
  due_until: Instant | null;
  measure: Measure;
}

/** POST /api/measure-responses: the score at once; after a risk answer, where to find help. */
interface SavedResponse {
  id: Uuid;
  total: number;
  band: Band | null;
  risk: boolean;
  crisis_resources: string[];
}

// --- the therapist's workspace ----------------------------------------------------------------

/** Someone of a couple as the workspace names them, those who left too. */
interface Person {
  user_id: Uuid;
  display_name: string;
  left_at?: Instant | null;
}

type EventKind =
  | 'plan_published' | 'logged' | 'confirmed' | 'disputed' | 'withdrawn'
  | 'note' | 'checkin' | 'prep' | 'appointment' | 'joined' | 'left';

/** One line of a couple's timeline. */
interface TimelineEvent {
  at: Instant;
  week_start: LocalDate;
  kind: EventKind;
  actor_id?: Uuid | null;
  title?: string | null;
  done_on?: LocalDate | null;
  status?: LogStatus | null;
  reason?: string | null;
  closed?: WithdrawnReason | null;
  text?: string | null;
  obstacles?: string | null;
  ratings?: Ratings | null;
  visibility?: Visibility | null;
  count?: number | null;
}

interface ItemWeek extends Count {
  exercise_id: Uuid;
  title: string;
  mode: Mode;
  partners: PartnerCount[];
  awaiting: number;
  disputed: number;
  withdrawn: number;
}

interface HistoryWeek extends Count {
  week_start: LocalDate;
  partners: PartnerCount[];
  items: ItemWeek[];
}

interface RatingPoint {
  author_id: Uuid;
  at: Instant;
  ratings: Ratings;
}

/** GET /api/couples/{id}/timeline: the weeks a couple has been in Tandem (up to a year). */
interface Timeline {
  since: LocalDate;
  partners: Person[];
  weeks: HistoryWeek[];
  ratings: RatingPoint[];
  events: TimelineEvent[];
}

/** GET /api/couples/{id}/brief: one page before an appointment. */
interface Brief {
  label: string;
  timezone: string;
  since: LocalDate;
  until: LocalDate;
  partners: Person[];
  appointment: Appointment | null;
  last_appointment: Appointment | null;
  preparation: SharedPrep[];
  weeks: HistoryWeek[];
  /** Disputes and withdrawals, with what was said. */
  sessions: TimelineEvent[];
  ratings: RatingPoint[];
  rating_summary: {
    author_id: Uuid; key: RatingKey; count: number;
    first: number; last: number; low: number; high: number; mean: number;
  }[];
  notes: Note[];
  checkins: CheckIn[];
  /** The times the partners agreed, or one proposed, in the brief's weeks. */
  practice_times: WeekSlot[];
  /** Each partner's latest score per questionnaire, against their first. */
  measures: LatestResult[];
  goals: Goal[];
  goal_attainment: GoalAttainment | null;
}

/** A practice time with its exercise and week (the brief's weeks). */
interface WeekSlot extends Slot {
  week_start: LocalDate;
  title: string;
  mode: Mode;
}

/** One person's latest score on one questionnaire (the brief). */
interface LatestResult {
  respondent_id: Uuid;
  measure_key: string;
  measure_title: string;
  total: number;
  max_total: number;
  band: Band | null;
  submitted_at: Instant;
  higher_is: 'better' | 'worse';
  count: number;
  first_total: number;
  first_at: Instant;
  /** Latest minus first; null while there is one score only. */
  change: number | null;
  /** Null where the questionnaire defines no reliable change. */
  reliable_change: string | null;
  risk: boolean;
}

/** GET /api/couples/{id}/summary: a partner's own week, to print. */
interface WeekSummary {
  me: Person;
  partner: Person | null;
  plan_note: string | null;
  items: (Count & { title: string; mine: Count | null })[];
  sessions: TimelineEvent[];
  my_notes: Note[];
  my_checkins: CheckIn[];
  shared_notes: Note[];
  shared_checkins: CheckIn[];
}

/** A row of the therapist's overview (GET /api/therapist/overview). */
interface CoupleRow {
  id: Uuid;
  label: string;
  partners: Person[];
  next_appointment: Appointment | null;
  this_week: { total: Count; joint: Count; partners: PartnerCount[] } | null;
  flags: {
    waiting: number;
    disputes: number;
    quiet_days: number | null;
    partner_left: Person[];
    ratings: { user_id: Uuid; key: RatingKey; value: number }[];
    prepared: Uuid[];
    risk: number;
  };
  /** How many flags are raised. */
  attention: number;
  last_activity_at: Instant | null;
}

interface WorkspaceSettings {
  inactive_days: number;
  rating: { key: RatingKey; direction: 'at_least' | 'at_most'; threshold: number } | null;
}

interface Overview {
  settings: WorkspaceSettings;
  waiting_days: number;
  couples: CoupleRow[];
}

// --- the app --------------------------------------------------------------------------------

/** Who is signed in, and their couple (a partner has one at most). */
interface AppState {
  user: User | null;
  couples: Couple[];
  couple: Couple | null;
  offlineMode: boolean;
}

/** The state a screen behind sign-in sees: the router let nobody else in. */
interface SignedInState extends AppState {
  user: User;
}

/** Who else is (or was) in a partner's couple, and everyone's names, those who left too. */
interface People {
  partner: Member | null;
  /** The partner who left, while there is no other. */
  left: FormerMember | null;
  names: Record<Uuid, string>;
  /** The partner's name, or "your partner". */
  partnerName: string;
}

/** What the cards of a partner's week (views/week.js, views/slots.js) share. */
interface WeekContext {
  me: Uuid;
  names: Record<Uuid, string>;
  partnerName: string;
  people: People;
  /** What waits on this device to be sent. */
  pending: StoredEntry[];
  rerender: () => Promise<void>;
  today: LocalDate;
  slots: Slot[];
  coupleId: Uuid;
  weekStart: LocalDate;
}

interface SignOutOptions {
  /** false: the server is not told (it ended the sign-in already, or is unreachable). */
  server?: boolean;
  /** 'ask': Sign out was pressed; 'keep': the sign-in ended by itself; 'discard': the account is gone. */
  queue?: 'ask' | 'keep' | 'discard';
}

/** What the shell (js/app.js) lends every screen, so no screen imports it back. */
interface Shell {
  /** Opens `#/path`, or renders again when it is open already. */
  go(path: string): void;
  /** Renders the current screen again. */
  render(): Promise<void>;
  /** Reads who is signed in and their couples again. */
  loadSession(): Promise<void>;
  /** After a sign-in: loads the session, syncs push, sends what was queued. */
  signedIn(): Promise<void>;
  /** false: the person chose to stay. */
  signOut(options?: SignOutOptions): Promise<boolean>;
}

interface ViewContext<S extends AppState = SignedInState> extends Shell {
  /** The route's parameters, decoded and checked; an optional one left out is undefined. */
  params: (string | undefined)[];
  state: S;
}

/** A screen behind sign-in: it draws into `root`. */
type View = (root: HTMLElement, ctx: ViewContext) => Promise<void> | void;
/** A screen anyone may open, signed in or not. */
type OpenView = (root: HTMLElement, ctx: ViewContext<AppState>) => Promise<void> | void;

// --- ui.js ----------------------------------------------------------------------------------

/** What `h()` and `svg()` append: nodes, text, and nothing for null, undefined or false. */
type Child = Node | string | number | boolean | null | undefined | Child[];

/** `h()`'s attributes: `on…` a listener, `text` the text, the rest attributes or properties. */
type Attrs = { [event: `on${string}`]: ((event: Event) => unknown) | null | undefined } & { [name: string]: unknown };

/** One problem the API found with what was sent, in plain words, and where. */
interface FieldError {
  /** "items.0.times_per_week": the control's data-field or name. */
  path: string;
  /** "Exercise 1, times per week". */
  where: string;
  message: string;
}

// --- offline.js -------------------------------------------------------------------------------

/** A session log or an answer waiting on this device to be sent. */
interface QueueEntry {
  client_id: Uuid;
  kind: 'log' | 'confirm' | 'dispute';
  url: string;
  body?: unknown;
  plan_item_id?: Uuid | null;
  session_id?: Uuid;
  done_on?: LocalDate;
}

interface StoredEntry extends QueueEntry {
  owner: Uuid;
  created_at: Instant;
}

/** What a replay of the queue did. */
interface ReplayOutcome {
  sent: number;
  refused: { entry: StoredEntry; message: string }[];
  waiting: number;
  interactive: boolean;
  /** The sign-in ended: the rest waits for the next one. */
  signedOut?: boolean;
  /** Seconds the server asked to wait (Retry-After on a 429 or 503), when it did. */
  retryAfter?: number | null;
  /** Nothing was tried: the server's wait is still running. */
  held?: boolean;
}

// --- api.js ---------------------------------------------------------------------------------

/** One entry of a 422's `detail`, as pydantic writes it. */
interface ValidationEntry {
  type?: string;
  loc?: (string | number)[];
  msg?: string;
  /** The limit broken (min_length, ge...): numbers, or the text of a date. */
  ctx?: Record<string, any>;
}

// --- push.js --------------------------------------------------------------------------------

/** The server's record of this device's subscription: how the last push to it went. */
type PushRecord =
  | { delivery: 'failing'; last_success_at: Instant | null; last_failure_at: Instant }
  | { delivery: 'delivered'; last_success_at: Instant; last_failure_at: Instant | null }
  | { delivery: 'none_yet'; last_success_at: null; last_failure_at: null };

/** What is true now about notifications on this device. */
interface PushStatus {
  permission: NotificationPermission | 'unsupported';
  subscribed: boolean;
  /** null: not asked (no permission or no subscription). */
  server: PushRecord | 'unknown' | 'unreachable' | null;
}

// --- charts.js ------------------------------------------------------------------------------

/** The numbers behind a chart, as a table (the first cell of a row is its header). */
interface TableData {
  caption: string;
  columns: string[];
  rows: (string | number)[][];
  /** false: only for screen readers. */
  visible?: boolean;
}

interface Series {
  label: string;
  /** x: a time in ms. */
  points: { x: number; y: number }[];
}

interface Scale {
  yMin?: number;
  yMax?: number;
  yTicks?: number[];
  width?: number;
  height?: number;
}

/** A range of values shaded behind a line chart (a questionnaire's band). */
interface ChartBand {
  min: number;
  max: number;
  label: string;
}

/** One panel of line charts, with both scales worked out. */
interface PanelOptions extends Required<Scale> {
  series: Series[];
  xMin: number;
  xMax: number;
  title: string | null;
  summary: string;
  bands?: ChartBand[];
  /** Name each band inside the chart, where it is tall enough. */
  bandLabels?: boolean;
}

interface WeekBar extends Count {
  label: string;
  disputed?: number;
  withdrawn?: number;
}

/** What this device keeps to open the week offline, as the same person: never what anyone wrote. */
interface OfflineProfile {
  user: User;
  couple: Couple | null;
}

// --- accounts --------------------------------------------------------------------------------

/** A signed-in device (GET /api/me/sessions). */
interface SignIn {
  id: Uuid;
  device: string | null;
  created_at: Instant;
  last_used_at: Instant;
  current: boolean;
}

/** A line of GET /api/me/access-log: who read what kind of entry, never what it said. */
interface AccessEvent {
  action: string;
  what?: string | null;
  actor_display_name?: string | null;
  couple_id?: Uuid | null;
  at: Instant;
}

// --- reminders and the calendar feed -----------------------------------------------------------

/** GET /api/me/reminders. */
interface Reminders {
  enabled: boolean;
  /** "HH:MM", up to three. */
  times: string[];
  /** 0 = Monday. */
  weekdays: number[];
  quiet_hours: { start: string; end: string } | null;
  timezone: string;
  discreet: boolean;
  paused_until: LocalDate | null;
  /** Minutes before an agreed practice time; null: no reminder. */
  slot_lead_minutes?: number | null;
  nudges?: boolean;
}

/** GET /api/me/calendar-feed (the link itself is only in the answer that makes it). */
type Feed = { discreet: boolean } & ({ enabled: true; created_at: Instant } | { enabled: false; created_at: null });
