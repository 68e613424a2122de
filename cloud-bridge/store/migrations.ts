import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';
import { moneyColumn, serialColumn, type Dialect } from './dialect.js';
import { m0004_terminals, m0007_terminal_health, m0012_manager_pin_attempts } from '../terminals/migration.js';
import { m0005_reconcile } from '../reconcile/runs/migration.js';
import { m0008_refund_sending, m0016_transition_guard } from '../orders/migration.js';
import { m0009_merchant_private_webhooks } from '../webhooks/migration.js';
import { m0010_hq_login_throttle, m0018_back_office_people, m0019_back_office_search } from '../hq/migration.js';
import { m0013_payouts } from '../payouts/migration.js';

// Migrations are code, applied in name order, identical on SQLite and PostgreSQL except
// where a column type must differ (64-bit money and auto-increment sequences).

type Builder = (dialect: Dialect) => Migration;

const money = moneyColumn;
const serial = serialColumn;

const m0001_core: Builder = (d) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('merchants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('allowed_domains', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('fx_markup', 'text', (c) => c.notNull().defaultTo('0.02'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('stores')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
      .addColumn('code', 'text', (c) => c.notNull().unique())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('timezone', 'text', (c) => c.notNull().defaultTo('Pacific/Auckland'))
      .addColumn('max_static_amount_minor', money(d), (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull().defaultTo('NZD'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('users')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('username', 'text', (c) => c.notNull().unique())
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.references('merchants.id'))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('disabled_at', 'text')
      .execute();
    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
      .addColumn('label', 'text', (c) => c.notNull())
      .addColumn('secret_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .addColumn('last_used_at', 'text')
      .execute();
    await db.schema
      .createTable('terminals')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
      .addColumn('store_id', 'text', (c) => c.notNull().references('stores.id'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('secret_hash', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('revoked_at', 'text')
      .addColumn('last_seen_at', 'text')
      .execute();
    await db.schema
      .createTable('pairing_codes')
      .addColumn('code_hash', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
      .addColumn('store_id', 'text', (c) => c.notNull().references('stores.id'))
      .addColumn('terminal_name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('used_at', 'text')
      .execute();
    await db.schema
      .createTable('channel_accounts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('secrets', 'text', (c) => c.notNull())
      .addColumn('active', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('channel_accounts_merchant')
      .on('channel_accounts')
      .columns(['merchant_id', 'channel'])
      .execute();

    await db.schema
      .createTable('orders')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
      .addColumn('store_id', 'text', (c) => c.references('stores.id'))
      .addColumn('terminal_id', 'text')
      .addColumn('checkout_id', 'text')
      .addColumn('out_trade_no', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('channel_account_id', 'text', (c) => c.notNull().references('channel_accounts.id'))
      .addColumn('mode', 'text', (c) => c.notNull())
      .addColumn('amount_minor', money(d), (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('refunded_minor', money(d), (c) => c.notNull().defaultTo(0))
      .addColumn('description', 'text')
      .addColumn('channel_order_no', 'text', (c) => c.notNull().unique())
      .addColumn('channel_trade_no', 'text')
      .addColumn('qr_code', 'text')
      .addColumn('redirect_url', 'text')
      .addColumn('openid', 'text')
      .addColumn('quote_id', 'text')
      .addColumn('cny_quote_minor', money(d))
      .addColumn('cny_charged_minor', money(d))
      .addColumn('rate', 'text')
      .addColumn('rate_time', 'text')
      .addColumn('return_url', 'text')
      .addColumn('request_hash', 'text', (c) => c.notNull())
      .addColumn('flagged', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('flag_reason', 'text')
      .addColumn('expires_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('paid_at', 'text')
      .addColumn('channel_paid_at', 'text')
      .addColumn('version', 'integer', (c) => c.notNull().defaultTo(0))
      .addUniqueConstraint('orders_merchant_out_trade_no', ['merchant_id', 'out_trade_no'])
      .execute();
    await db.schema.createIndex('orders_status').on('orders').columns(['status', 'expires_at']).execute();
    await db.schema.createIndex('orders_checkout').on('orders').column('checkout_id').execute();
    await db.schema.createIndex('orders_created').on('orders').columns(['merchant_id', 'created_at']).execute();

    await db.schema
      .createTable('order_events')
      .addColumn('id', serial(d), (c) => (d === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('from_status', 'text')
      .addColumn('to_status', 'text', (c) => c.notNull())
      .addColumn('cause', 'text', (c) => c.notNull())
      .addColumn('data', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('order_events_order').on('order_events').column('order_id').execute();

    await db.schema
      .createTable('refunds')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
      .addColumn('order_id', 'text', (c) => c.notNull().references('orders.id'))
      .addColumn('out_refund_no', 'text', (c) => c.notNull())
      .addColumn('channel_refund_no', 'text', (c) => c.notNull().unique())
      .addColumn('channel_refund_id', 'text')
      .addColumn('amount_minor', money(d), (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('automatic', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('request_hash', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('refunds_merchant_out_refund_no', ['merchant_id', 'out_refund_no'])
      .execute();
    await db.schema.createIndex('refunds_order').on('refunds').column('order_id').execute();

    await db.schema
      .createTable('channel_messages')
      .addColumn('id', serial(d), (c) => (d === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('channel_account_id', 'text')
      .addColumn('order_id', 'text')
      .addColumn('direction', 'text', (c) => c.notNull())
      .addColumn('endpoint', 'text', (c) => c.notNull())
      .addColumn('http_status', 'integer')
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('channel_messages_order').on('channel_messages').column('order_id').execute();

    await db.schema
      .createTable('events')
      .addColumn('seq', serial(d), (c) => (d === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text')
      .addColumn('store_id', 'text')
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('event_cursors')
      .addColumn('reader', 'text', (c) => c.primaryKey())
      .addColumn('position', money(d), (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('jobs')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('next_run_at', 'text', (c) => c.notNull())
      .addColumn('locked_by', 'text')
      .addColumn('locked_until', 'text')
      .addColumn('last_started_at', 'text')
      .addColumn('last_finished_at', 'text')
      .addColumn('last_error', 'text')
      .addColumn('runs', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createTable('tasks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('dedupe_key', 'text', (c) => c.unique())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('run_at', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('max_attempts', 'integer', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('locked_by', 'text')
      .addColumn('locked_until', 'text')
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('tasks_due').on('tasks').columns(['status', 'run_at']).execute();

    await db.schema
      .createTable('files')
      .addColumn('sha256', 'text', (c) => c.primaryKey())
      .addColumn('size', money(d), (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('channel', 'text')
      .addColumn('day', 'text')
      .addColumn('meta', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await sql`select 1`.execute(db);
  },
});

// One-code checkouts (the landing pages and the store sticker) and merchant webhooks.
const m0003_onecode: Builder = (d) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('checkouts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('token', 'text', (c) => c.notNull().unique())
      .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
      .addColumn('store_id', 'text', (c) => c.references('stores.id'))
      .addColumn('terminal_id', 'text')
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('amount_minor', money(d), (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('allowed_channels', 'text')
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('paid_order_id', 'text')
      .addColumn('description', 'text')
      .addColumn('return_url', 'text')
      .addColumn('reference', 'text')
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('checkouts_open').on('checkouts').columns(['status', 'expires_at']).execute();
    await db.schema.createIndex('checkouts_merchant').on('checkouts').columns(['merchant_id', 'created_at']).execute();
    await db.schema
      .createTable('checkout_presentations')
      .addColumn('order_id', 'text', (c) => c.primaryKey())
      .addColumn('checkout_id', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('webhook_endpoints')
      .addColumn('merchant_id', 'text', (c) => c.primaryKey().references('merchants.id'))
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('secret', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('event_id', 'text', (c) => c.notNull())
      .addColumn('event_seq', money(d), (c) => c.notNull())
      .addColumn('event_type', 'text', (c) => c.notNull())
      .addColumn('url', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_status_code', 'integer')
      .addColumn('last_error', 'text')
      .addColumn('next_attempt_at', 'text')
      .addColumn('delivered_at', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('webhook_deliveries_event', ['merchant_id', 'event_id'])
      .execute();
    await db.schema
      .createTable('webhook_attempts')
      .addColumn('id', serial(d), (c) => (d === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('delivery_id', 'text', (c) => c.notNull())
      .addColumn('attempt', 'integer', (c) => c.notNull())
      .addColumn('status_code', 'integer')
      .addColumn('error', 'text')
      .addColumn('duration_ms', 'integer', (c) => c.notNull())
      .addColumn('manual', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('webhook_attempts_delivery').on('webhook_attempts').column('delivery_id').execute();
  },
});

const m0002_fx: Builder = () => ({
  async up(db: Kysely<any>) {
    // Every rate ever fetched (a history, not a single row), and the quotes made from them.
    await db.schema
      .createTable('fx_rates')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('cny_per_unit', 'text', (c) => c.notNull())
      .addColumn('published_at', 'text', (c) => c.notNull())
      .addColumn('fetched_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('fx_rates_latest')
      .on('fx_rates')
      .columns(['channel', 'currency', 'fetched_at'])
      .execute();
    await db.schema
      .createTable('fx_quotes')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('amount_minor', 'bigint', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('cny_minor', 'bigint', (c) => c.notNull())
      .addColumn('rate', 'text', (c) => c.notNull())
      .addColumn('markup', 'text', (c) => c.notNull())
      .addColumn('exact_cny', 'text', (c) => c.notNull())
      .addColumn('rounding', 'text', (c) => c.notNull())
      .addColumn('source', 'text', (c) => c.notNull())
      .addColumn('rate_id', 'text', (c) => c.notNull())
      .addColumn('rate_time', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('fx_quotes_merchant').on('fx_quotes').columns(['merchant_id', 'created_at']).execute();
  },
});

const m0006_order_pay_params: Builder = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('orders').addColumn('pay_params', 'text').execute();
  },
});

// Each merchant's maximum per payment, so no amount reaches a channel unbounded (without
// it NZD 90,071,992,547,409.91 would). NZD 50,000.00 unless HQ sets another.
const m0011_merchant_max_payment: Builder = (d) => ({
  async up(db: Kysely<any>) {
    await db.schema
      .alterTable('merchants')
      .addColumn('max_payment_minor', money(d), (c) => c.notNull().defaultTo(5_000_000))
      .execute();
    await db.schema
      .alterTable('merchants')
      .addColumn('max_payment_currency', 'text', (c) => c.notNull().defaultTo('NZD'))
      .execute();
  },
});

// The latest rate is the last one fetched in insertion order (the id, a monotonic ULID),
// not by its fetched_at: a clock stepped back must not leave an older row in front.
const m0017_fx_rates_by_id: Builder = () => ({
  async up(db: Kysely<any>) {
    await db.schema.createIndex('fx_rates_by_id').on('fx_rates').columns(['channel', 'currency', 'id']).execute();
  },
});

// HQ turns a merchant, or one of its channel accounts, off: no new payment starts on it (the
// payment paths answer merchant_disabled / channel_account_disabled) while everything already
// made (refunds, queries, reconciliation, payouts) carries on. A timestamp, not a flag, so the
// back office can say since when; `channel_accounts.active` stays what it was (the current one
// of its channel, as opposed to one replaced).
const m0020_merchants_off: Builder = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('merchants').addColumn('disabled_at', 'text').execute();
    await db.schema.alterTable('channel_accounts').addColumn('disabled_at', 'text').execute();
  },
});

// Who in the back office asked for a refund (null: the merchant API, a counter, the bridge
// itself). A user's refund limit caps what that user has refunded of one payment in all, so
// splitting a refund into parts under the limit gets no further than one refund would.
const m0021_refund_requester: Builder = () => ({
  async up(db: Kysely<any>) {
    await db.schema.alterTable('refunds').addColumn('requested_by', 'text').execute();
  },
});

const ALL: Record<string, Builder> = {
  '0001_core': m0001_core,
  '0002_fx': m0002_fx,
  '0004_terminals': m0004_terminals,
  '0003_onecode': m0003_onecode,
  '0005_reconcile': m0005_reconcile,
  '0006_order_pay_params': m0006_order_pay_params,
  '0007_terminal_health': m0007_terminal_health,
  '0008_refund_sending': m0008_refund_sending,
  '0009_merchant_private_webhooks': m0009_merchant_private_webhooks,
  '0010_hq_login_throttle': m0010_hq_login_throttle,
  '0011_merchant_max_payment': m0011_merchant_max_payment,
  '0012_manager_pin_attempts': m0012_manager_pin_attempts,
  '0013_payouts': m0013_payouts,
  '0016_transition_guard': m0016_transition_guard,
  '0017_fx_rates_by_id': m0017_fx_rates_by_id,
  '0018_back_office_people': m0018_back_office_people,
  '0019_back_office_search': m0019_back_office_search,
  '0020_merchants_off': m0020_merchants_off,
  '0021_refund_requester': m0021_refund_requester,
};

export function migrationProvider(dialect: Dialect): MigrationProvider {
  return {
    async getMigrations() {
      return Object.fromEntries(Object.entries(ALL).map(([name, build]) => [name, build(dialect)]));
    },
  };
}
