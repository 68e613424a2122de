import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../store/db.js';

// HQ login throttle, one row per (client address, user name): how many attempts in the
// current run and until when (epoch ms) the next one must wait. In the database so that every
// bridge instance counts together and parallel attempts are counted atomically.
export const m0010_hq_login_throttle = (d: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('hq_login_throttle')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('blocked_until_ms', d === 'postgres' ? 'bigint' : 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
});

// The back office's people: the old `merchant_user` becomes `merchant_admin`; store managers and
// viewers are tied to stores; a merchant admin sets each user's refund limit; TOTP secrets are
// sealed like channel secrets; invitations keep only a hash of their token; and the audit log
// only grows: a trigger on each store refuses UPDATE and DELETE of its rows, so neither the
// bridge's own code nor a hand-typed statement through the bridge's login rewrites history.
export const m0018_back_office_people = (d: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    const big = d === 'postgres' ? 'bigint' : 'integer';
    await db.updateTable('users').set({ role: 'merchant_admin' }).where('role', '=', 'merchant_user').execute();
    await db.schema.alterTable('users').addColumn('refund_limit_minor', big).execute();
    await db.schema.alterTable('users').addColumn('totp_secret', 'text').execute();
    await db.schema
      .alterTable('users')
      .addColumn('totp_enabled', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable('users').addColumn('totp_last_step', big).execute();
    await db.schema
      .createTable('user_stores')
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('store_id', 'text', (c) => c.notNull().references('stores.id'))
      .addPrimaryKeyConstraint('user_stores_pk', ['user_id', 'store_id'])
      .execute();
    await db.schema.alterTable('hq_sessions').addColumn('ip', 'text').execute();
    await db.schema.alterTable('hq_sessions').addColumn('user_agent', 'text').execute();
    await db.schema.createIndex('hq_sessions_by_user').on('hq_sessions').column('user_id').execute();
    await db.schema
      .createTable('hq_invites')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.references('merchants.id'))
      .addColumn('store_ids', 'text', (c) => c.notNull())
      .addColumn('refund_limit_minor', big)
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('used_at', 'text')
      .addColumn('used_by', 'text')
      .execute();
    await db.schema
      .createTable('audit_log')
      .addColumn('id', d === 'postgres' ? 'bigserial' : 'integer', (c) =>
        d === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
      )
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('actor_id', 'text')
      .addColumn('role', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text')
      .addColumn('target', 'text')
      .addColumn('ip', 'text')
      .addColumn('details', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('audit_log_by_merchant').on('audit_log').columns(['merchant_id', 'id']).execute();
    await db.schema.createIndex('audit_log_by_action').on('audit_log').columns(['action', 'id']).execute();
    await db.schema.createIndex('audit_log_by_actor').on('audit_log').columns(['actor', 'id']).execute();
    await db.schema.createIndex('audit_log_by_at').on('audit_log').columns(['at']).execute();
    if (d === 'postgres') {
      await sql`create function audit_log_append_only() returns trigger language plpgsql as $$
        begin raise exception 'audit_log is append-only'; end $$`.execute(db);
      await sql`create trigger audit_log_no_change before update or delete on audit_log
        for each row execute function audit_log_append_only()`.execute(db);
      await sql`create trigger audit_log_no_truncate before truncate on audit_log
        for each statement execute function audit_log_append_only()`.execute(db);
    } else {
      await sql`create trigger audit_log_no_update before update on audit_log
        begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
      await sql`create trigger audit_log_no_delete before delete on audit_log
        begin select raise(abort, 'audit_log is append-only'); end`.execute(db);
    }
  },
});

// The back office's payment list, search and exports on a million payments: keyset pages walk
// (…, created_at, id) backwards for HQ (every merchant), a merchant and a store; the search box
// matches exact numbers, so each number it looks at has an index (the merchant's order number
// is indexed per merchant already, HQ searches it across merchants); the refunds export pages
// refunds the same way. The old (merchant_id, created_at) index is a prefix of the new one.
export const m0019_back_office_search = (_d: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema.createIndex('orders_created_id').on('orders').columns(['created_at', 'id']).execute();
    await db.schema
      .createIndex('orders_merchant_created_id')
      .on('orders')
      .columns(['merchant_id', 'created_at', 'id'])
      .execute();
    await db.schema.dropIndex('orders_created').execute();
    await db.schema
      .createIndex('orders_store_created_id')
      .on('orders')
      .columns(['store_id', 'created_at', 'id'])
      .execute();
    // A status asked for across every merchant (refunded, pending) is walked in date order
    // here, instead of every row of that status being read and sorted.
    await db.schema
      .createIndex('orders_status_created_id')
      .on('orders')
      .columns(['status', 'created_at', 'id'])
      .execute();
    await db.schema.createIndex('orders_out_trade_no').on('orders').column('out_trade_no').execute();
    await db.schema.createIndex('orders_channel_trade_no').on('orders').column('channel_trade_no').execute();
    await db.schema.createIndex('checkouts_reference').on('checkouts').column('reference').execute();
    await db.schema.createIndex('refunds_created_id').on('refunds').columns(['created_at', 'id']).execute();
    await db.schema
      .createIndex('events_merchant_created')
      .on('events')
      .columns(['merchant_id', 'created_at'])
      .execute();
  },
});
