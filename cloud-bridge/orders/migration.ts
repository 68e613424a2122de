import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../store/dialect.js';

// A refund's send is a lease: `sending_until` is committed before the channel call, so no one
// re-sends a refund whose call may still be in flight. `last_sent_at` dates the
// last send, so a channel without a refund key is sent a refund again only once its refund
// list has had time to show the first.
export const m0008_refund_sending = (_d: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('refunds').addColumn('sending_until', 'text').execute();
    await db.schema.alterTable('refunds').addColumn('last_sent_at', 'text').execute();
    await db.schema
      .alterTable('refunds')
      .addColumn('send_attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
});
