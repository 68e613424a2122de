import type { Generated, Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { Store } from '../store/db.js';

// The payout tables (migration 0013), seen only by this module.

export interface MerchantBankAccountTable {
  id: string;
  merchant_id: string;
  account_number: string;
  account_name: string;
  schedule: 'daily' | 'weekly' | 'monthly';
  schedule_day: number | null;
  minimum_minor: number;
  /** proposed → active (approved) → replaced; proposed → rejected. */
  state: 'proposed' | 'active' | 'replaced' | 'rejected';
  proposed_by: string;
  decided_by: string | null;
  created_at: string;
  decided_at: string | null;
  payable_from: string | null;
}

export interface OperatorFeeTable {
  merchant_id: string;
  channel: string;
  percent: string;
  fixed_minor: number;
  updated_by: string;
  updated_at: string;
}

export type RunState = 'built' | 'approved' | 'downloaded' | 'cancelled';

export interface PayoutRunTable {
  id: string;
  number: number;
  state: RunState;
  open_slot: string | null;
  scheduled_day: string | null;
  currency: string;
  total_minor: number;
  built_by: string;
  built_at: string;
  approved_by: string | null;
  approved_at: string | null;
  downloaded_by: string | null;
  downloaded_at: string | null;
  cancelled_by: string | null;
  cancelled_at: string | null;
  format: string | null;
  due_date: string | null;
  file_sha256: string | null;
  file_name: string | null;
}

export type BankStatus = 'paid' | 'missing' | 'different';

export interface PayoutLineTable {
  id: string;
  run_id: string;
  line_no: number;
  merchant_id: string;
  status: 'pay' | 'carried' | 'held';
  reason: string | null;
  bank_account_id: string | null;
  account_number: string | null;
  account_name: string | null;
  payments: number;
  gross_minor: number;
  refunds_minor: number;
  channel_fees_minor: number;
  operator_fees_minor: number;
  adjustments_minor: number;
  carried_in_minor: number;
  balance_minor: number;
  amount_minor: number;
  carried_out_minor: number;
  particulars: string;
  code: string;
  reference: string;
  bank_status: BankStatus | null;
  bank_amount_minor: number | null;
  bank_date: string | null;
  flagged_at: string | null;
  paid_at: string | null;
}

export interface PayoutItemTable {
  channel: string;
  day: string;
  merchant_id: string;
  currency: string;
  run_id: string;
  line_id: string;
  payments: number;
  gross_minor: number;
  refunds: number;
  refunds_minor: number;
  channel_fees_minor: number;
  operator_fee_percent: string;
  operator_fee_fixed_minor: number;
  operator_fees_minor: number;
  adjustments_minor: number;
  net_minor: number;
}

export interface PayoutSettingTable {
  key: string;
  value: string;
  updated_by: string;
  updated_at: string;
}

export interface PayoutAuditTable {
  seq: Generated<number>;
  action: string;
  merchant_id: string | null;
  run_id: string | null;
  actor: string;
  data: string;
  created_at: string;
}

export interface PayoutDatabase extends Database {
  merchant_bank_accounts: MerchantBankAccountTable;
  operator_fees: OperatorFeeTable;
  payout_runs: PayoutRunTable;
  payout_lines: PayoutLineTable;
  payout_items: PayoutItemTable;
  payout_settings: PayoutSettingTable;
  payout_audit: PayoutAuditTable;
}

export function payoutDb(store: Store): Kysely<PayoutDatabase> {
  return store.db as unknown as Kysely<PayoutDatabase>;
}
