import type { Store } from '../store/db.js';
import { nowIso } from '../store/db.js';
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { systemClock, type Clock } from '../../protocol/clock.js';

// Raw channel messages are kept (bodies, not just outcomes) for disputes and
// reconciliation, with the few values that are secrets to a third party masked:
// a customer's payment code is a bearer credential while it lives, and OAuth tokens are.
const SECRET_FIELDS = ['auth_code', 'access_token', 'refresh_token', 'dynamic_id', 'code', 'key', 'secret', 'password'];

export function redact(body: string): string {
  let out = body;
  for (const f of SECRET_FIELDS) {
    // XML elements, with or without CDATA
    out = out.replace(
      new RegExp(`<${f}>(?:<!\\[CDATA\\[)?([^<\\]]*)(?:\\]\\]>)?</${f}>`, 'g'),
      (_m, v: string) => `<${f}>${mask(v)}</${f}>`,
    );
    // form fields
    out = out.replace(new RegExp(`(^|[&?])${f}=([^&]*)`, 'g'), (_m, p: string, v: string) => `${p}${f}=${mask(v)}`);
    // JSON string values
    out = out.replace(new RegExp(`"${f}"\\s*:\\s*"([^"]*)"`, 'g'), (_m, v: string) => `"${f}":"${mask(v)}"`);
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
    await db
      .insertInto('channel_messages')
      .values({
        channel: m.channel,
        channel_account_id: m.accountId ?? null,
        order_id: m.orderId ?? null,
        direction: m.direction,
        endpoint: m.endpoint,
        http_status: m.httpStatus ?? null,
        body: redact(m.body).slice(0, 200_000),
        created_at: nowIso(m.at ?? this.clock.now()),
      })
      .execute();
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
