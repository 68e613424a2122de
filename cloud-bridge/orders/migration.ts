import { sql, type Kysely, type Migration } from 'kysely';
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

/** The SQLSTATE with which PostgreSQL refuses a transition whose order moved meanwhile. */
export const ORDER_MOVED_SQLSTATE = 'KA409';

// On PostgreSQL a transition's writes go to the server as one statement (one round trip, no
// BEGIN and COMMIT of their own): the version-checked update of the order and, beside it,
// the history, tasks and raw messages. A statement cannot stop half way by itself, so this
// function fails the whole of it when the update found the order moved (another instance or
// request changed it first): nothing of the transition is written, as before.
export const m0016_transition_guard = (d: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    if (d !== 'postgres') return;
    await sql
      .raw(
        `create or replace function kauri_order_unmoved(updated bigint) returns boolean language plpgsql as $fn$
begin
  if updated <> 1 then
    raise exception 'the order moved while its change was written' using errcode = '${ORDER_MOVED_SQLSTATE}';
  end if;
  return true;
end
$fn$`,
      )
      .execute(db);
  },
});
