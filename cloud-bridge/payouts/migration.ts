import type { Kysely, Migration } from 'kysely';
import { moneyColumn, serialColumn, type Dialect } from '../store/dialect.js';

// Paying merchants out: their bank accounts (proposed, approved, replaced: every version is
// kept), the operator's fee per merchant and channel, payout runs with their merchant lines
// and the settlement days each line consumed, the payout settings (the operator's own
// account), and an append-only audit of every change.
export const m0013_payouts = (d: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    const money = moneyColumn(d);
    const serial = serialColumn(d);
    await db.schema
      .createTable('merchant_bank_accounts')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
      .addColumn('account_number', 'text', (c) => c.notNull())
      .addColumn('account_name', 'text', (c) => c.notNull())
      .addColumn('schedule', 'text', (c) => c.notNull())
      .addColumn('schedule_day', 'integer')
      .addColumn('minimum_minor', money, (c) => c.notNull())
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('proposed_by', 'text', (c) => c.notNull())
      .addColumn('decided_by', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('decided_at', 'text')
      .addColumn('payable_from', 'text')
      .execute();
    await db.schema
      .createIndex('merchant_bank_accounts_merchant')
      .on('merchant_bank_accounts')
      .columns(['merchant_id', 'state'])
      .execute();
    await db.schema
      .createTable('operator_fees')
      .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('percent', 'text', (c) => c.notNull())
      .addColumn('fixed_minor', money, (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('operator_fees_pk', ['merchant_id', 'channel'])
      .execute();
    await db.schema
      .createTable('payout_runs')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('number', 'integer', (c) => c.notNull().unique())
      .addColumn('state', 'text', (c) => c.notNull())
      // 'open' while built or approved, null after: the unique constraint allows one open run
      // across every bridge instance, so two builds can never pay the same days.
      .addColumn('open_slot', 'text', (c) => c.unique())
      // The scheduled job's run of a New Zealand day: one per day whichever instance builds it.
      .addColumn('scheduled_day', 'text', (c) => c.unique())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('total_minor', money, (c) => c.notNull())
      .addColumn('built_by', 'text', (c) => c.notNull())
      .addColumn('built_at', 'text', (c) => c.notNull())
      .addColumn('approved_by', 'text')
      .addColumn('approved_at', 'text')
      .addColumn('downloaded_by', 'text')
      .addColumn('downloaded_at', 'text')
      .addColumn('cancelled_by', 'text')
      .addColumn('cancelled_at', 'text')
      .addColumn('format', 'text')
      .addColumn('due_date', 'text')
      .addColumn('file_sha256', 'text')
      .addColumn('file_name', 'text')
      .execute();
    await db.schema
      .createTable('payout_lines')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('run_id', 'text', (c) => c.notNull().references('payout_runs.id'))
      .addColumn('line_no', 'integer', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.notNull().references('merchants.id'))
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('bank_account_id', 'text')
      .addColumn('account_number', 'text')
      .addColumn('account_name', 'text')
      .addColumn('payments', 'integer', (c) => c.notNull())
      .addColumn('gross_minor', money, (c) => c.notNull())
      .addColumn('refunds_minor', money, (c) => c.notNull())
      .addColumn('channel_fees_minor', money, (c) => c.notNull())
      .addColumn('operator_fees_minor', money, (c) => c.notNull())
      .addColumn('adjustments_minor', money, (c) => c.notNull())
      .addColumn('carried_in_minor', money, (c) => c.notNull())
      .addColumn('balance_minor', money, (c) => c.notNull())
      .addColumn('amount_minor', money, (c) => c.notNull())
      .addColumn('carried_out_minor', money, (c) => c.notNull())
      .addColumn('particulars', 'text', (c) => c.notNull())
      .addColumn('code', 'text', (c) => c.notNull())
      .addColumn('reference', 'text', (c) => c.notNull())
      .addColumn('bank_status', 'text')
      .addColumn('bank_amount_minor', money)
      .addColumn('bank_date', 'text')
      .addColumn('flagged_at', 'text')
      .addColumn('paid_at', 'text')
      .addUniqueConstraint('payout_lines_run_no', ['run_id', 'line_no'])
      .execute();
    await db.schema
      .createIndex('payout_lines_merchant')
      .on('payout_lines')
      .columns(['merchant_id', 'run_id'])
      .execute();
    await db.schema
      .createTable('payout_items')
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('day', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text', (c) => c.notNull())
      .addColumn('currency', 'text', (c) => c.notNull())
      .addColumn('run_id', 'text', (c) => c.notNull().references('payout_runs.id'))
      .addColumn('line_id', 'text', (c) => c.notNull().references('payout_lines.id'))
      .addColumn('payments', 'integer', (c) => c.notNull())
      .addColumn('gross_minor', money, (c) => c.notNull())
      .addColumn('refunds', 'integer', (c) => c.notNull())
      .addColumn('refunds_minor', money, (c) => c.notNull())
      .addColumn('channel_fees_minor', money, (c) => c.notNull())
      .addColumn('operator_fee_percent', 'text', (c) => c.notNull())
      .addColumn('operator_fee_fixed_minor', money, (c) => c.notNull())
      .addColumn('operator_fees_minor', money, (c) => c.notNull())
      .addColumn('adjustments_minor', money, (c) => c.notNull())
      .addColumn('net_minor', money, (c) => c.notNull())
      // A settlement day is paid once: its key is the primary key (a cancelled run deletes its items).
      .addPrimaryKeyConstraint('payout_items_pk', ['channel', 'day', 'merchant_id', 'currency'])
      .execute();
    await db.schema.createIndex('payout_items_line').on('payout_items').column('line_id').execute();
    await db.schema
      .createTable('payout_settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .addColumn('updated_by', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('payout_audit')
      .addColumn('seq', serial, (c) => (d === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement()))
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('merchant_id', 'text')
      .addColumn('run_id', 'text')
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('data', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('payout_audit_merchant').on('payout_audit').columns(['merchant_id', 'seq']).execute();
    await db.schema.createIndex('payout_audit_run').on('payout_audit').columns(['run_id', 'seq']).execute();
  },
});
