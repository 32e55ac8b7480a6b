// Shapes only the service worker (frontend/sw.js) reads; checked by `tsc -p tsconfig.sw.json`.

/** A push's payload, once decrypted: opaque ids and neutral words, never names (SPEC §5). */
interface PushPayload {
  id?: string;
  notification_id?: string;
  title?: string;
  body?: string;
  url?: string;
  session_id?: string;
  session_log_id?: string;
  action_token?: string;
  /** Checked before use: only entries with both an action and a title are shown. */
  actions?: { action?: unknown; title?: unknown }[];
}

/** What a shown notification keeps for when it is tapped. */
interface TapData {
  url: string;
  confirmUrl: string;
  actionToken: string;
}
