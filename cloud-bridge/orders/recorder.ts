import type { Store } from '../store/db.js';
import { nowIso } from '../store/db.js';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { systemClock, type Clock } from '../../protocol/clock.js';

// Raw channel messages are kept (bodies, not just outcomes) for disputes and
// reconciliation, with the few values that are secrets to a third party masked:
// a customer's payment code is a bearer credential while it lives, and OAuth tokens are.
const SECRET_FIELDS = ['auth_code', 'access_token', 'refresh_token', 'dynamic_id', 'code', 'key', 'secret', 'password'];

// Built once: redacting runs on every recorded channel message, on the payment path.
const SECRET_PATTERNS = SECRET_FIELDS.map((f) => ({
  xml: new RegExp(`<${f}>(?:<!\\[CDATA\\[)?([^<\\]]*)(?:\\]\\]>)?</${f}>`, 'g'),
  form: new RegExp(`(^|[&?])${f}=([^&]*)`, 'g'),
  json: new RegExp(`"${f}"\\s*:\\s*"([^"]*)"`, 'g'),
  f,
}));

export function redact(body: string): string {
  let out = body;
  for (const { f, xml, form, json } of SECRET_PATTERNS) {
    // XML elements, with or without CDATA
    out = out.replace(xml, (_m, v: string) => `<${f}>${mask(v)}</${f}>`);
    // form fields
    out = out.replace(form, (_m, p: string, v: string) => `${p}${f}=${mask(v)}`);
    // JSON string values
    out = out.replace(json, (_m, v: string) => `"${f}":"${mask(v)}"`);
  }
  return out;
}

function mask(v: string): string {
  if (v.length <= 4) return '****';
  return `${v.slice(0, 2)}${'*'.repeat(Math.max(4, v.length - 4))}${v.slice(-2)}`;
}

export interface RecordedMessage {
  channel: string;
  accountId?: string | null;
  orderId?: string | null;
  direction: 'request' | 'response' | 'notify' | 'reply';
  endpoint: string;
  body: string;
  httpStatus?: number;
  /** When it was sent or received (kept when the message is written later, with its outcome). */
  at?: Date;
}

export class MessageRecorder {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock = systemClock(),
  ) {}

  async record(m: RecordedMessage, db: Kysely<Database> | Transaction<Database> = this.store.db): Promise<void> {
    await this.recordAll([m], db);
  }

  /** Several messages in one statement (a channel call's request and answer, written with its outcome). */
  async recordAll(
    messages: readonly RecordedMessage[],
    db: Kysely<Database> | Transaction<Database> = this.store.db,
  ): Promise<void> {
    const q = this.recordAllQuery(messages, db);
    if (q) await q.execute();
  }

  /** The insert of recordAll, unexecuted (undefined when there is nothing to write). */
  recordAllQuery(messages: readonly RecordedMessage[], db: Kysely<Database> | Transaction<Database> = this.store.db) {
    if (!messages.length) return undefined;
    return db.insertInto('channel_messages').values(
      messages.map((m) => ({
        channel: m.channel,
        channel_account_id: m.accountId ?? null,
        order_id: m.orderId ?? null,
        direction: m.direction,
        endpoint: m.endpoint,
        http_status: m.httpStatus ?? null,
        body: redact(m.body).slice(0, 200_000),
        created_at: nowIso(m.at ?? this.clock.now()),
      })),
    );
  }

  async forOrder(orderId: string) {
    return this.store.db
      .selectFrom('channel_messages')
      .selectAll()
      .where('order_id', '=', orderId)
      .orderBy('id')
      .execute();
  }
}
