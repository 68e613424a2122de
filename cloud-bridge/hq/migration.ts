import type { Kysely, Migration } from 'kysely';
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
