import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../../store/dialect.js';

// Reconciliation in the database: downloads (one row per channel, day and merchant, with
// its state), runs (every run kept), differences as append-only versions (a change is a
// new row, never an update), day sign-offs, per-merchant settlement lines, adjustments,
// and the HQ page's sessions.
export const m0005_reconcile = (d: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    const money = d === 'postgres' ? 'bigint' : 'integer';
    const serial = d === 'postgres' ? 'bigserial' : 'integer';
    await db.schema
      .createTable('recon_downloads')
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('account_id', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('file_sha256', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('recon_downloads_pk', ['channel', 'day', 'merchant_id'])
      .execute();
    await db.schema
      .createTable('recon_runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('file_sha256', 'text')
      .addColumn('layout', 'text')
      .addColumn('summary', 'text')
      .addColumn('error', 'text')
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('started_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .execute();
    await db.schema
      .createIndex('recon_runs_day')
      .on('recon_runs')
      .columns(['channel', 'day', 'merchant_id', 'started_at'])
      .execute();
    await db.schema
      .createTable('recon_differences')
      .addColumn('seq', serial, (c) => (d === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('diff_key', 'text', (c) => c.notNull())
      .addColumn('version', 'integer', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('category', 'text', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('ref_id', 'text', (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('action', 'text')
      .addColumn('note', 'text')
      .addColumn('linked_order', 'text')
      .addColumn('adjust_minor', money)
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addUniqueConstraint('recon_differences_version', ['diff_key', 'version'])
      .execute();
    await db.schema.createIndex('recon_differences_day').on('recon_differences').columns(['channel', 'day']).execute();
    await db.schema
      .createTable('recon_signoffs')
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('signed_by', 'text', (c) => c.notNull())
      .addColumn('note', 'text')
      .addColumn('signed_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('recon_signoffs_pk', ['channel', 'day'])
      .execute();
    await db.schema
      .createTable('recon_settlements')
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('payments', 'integer', (c) => c.notNull())
      .addColumn('gross_minor', money, (c) => c.notNull())
      .addColumn('refunds', 'integer', (c) => c.notNull())
      .addColumn('refunds_minor', money, (c) => c.notNull())
      .addColumn('fees_minor', money, (c) => c.notNull())
      .addColumn('cny_charged_minor', money, (c) => c.notNull())
      .addColumn('run_id', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('recon_settlements_pk', ['channel', 'day', 'merchant_id', 'currency'])
      .execute();
    await db.schema
      .createTable('recon_adjustments')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('amount_minor', money, (c) => c.notNull())
      .addColumn('note', 'text', (c) => c.notNull())
      .addColumn('refers_to', 'text')
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('hq_sessions')
      .addColumn('id_hash', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'text', (c) => c.notNull().references('users.id'))
      .addColumn('csrf', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text', (c) => c.notNull())
      .execute();
  },
});
