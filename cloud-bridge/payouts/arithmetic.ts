import { Decimal } from 'decimal.js';

// What a payout run pays each merchant, as pure arithmetic on integers of NZD cents (the
// operator's percentage is a decimal string, applied with decimal.js, never a float):
//
//   per signed-off settlement day:  net = gross − refunds − channel fees − operator fee + adjustments
//   operator fee                    = round(gross × percent / 100, half up) + fixed × payments
//   per merchant:                   balance = Σ net + carried in (what earlier runs carried)
//
// The balance is paid when the merchant has an approved account past its cooling-off and the
// balance reaches their minimum (at least one cent); otherwise all of it is carried to the next
// run. A refund booked on a later day (a late refund) and a negative HQ adjustment claw back
// through that day's net, and so through the balance.

export const PAYOUT_CURRENCY = 'NZD';

export interface SettlementDay {
  channel: string;
  day: string;
  currency: string;
  payments: number;
  grossMinor: number;
  refunds: number;
  refundsMinor: number;
  channelFeesMinor: number;
  adjustmentsMinor: number;
}

export interface OperatorFee {
  /** Percent of the gross, a decimal string: "1.5" is 1.5 %. */
  percent: string;
  /** Cents per payment. */
  fixedMinor: number;
}

export const NO_FEE: OperatorFee = { percent: '0', fixedMinor: 0 };

export interface PayoutAccount {
  id: string;
  accountNumber: string;
  accountName: string;
  minimumMinor: number;
  /** ISO time from which the account may be paid (its approval plus the cooling-off). */
  payableFrom: string;
}

export interface MerchantPayoutInput {
  merchantId: string;
  days: readonly SettlementDay[];
  fees: ReadonlyMap<string, OperatorFee>;
  carriedInMinor: number;
  account: PayoutAccount | null;
  /** ISO time of the build (the injected clock's). */
  now: string;
}

export interface PayoutItem extends SettlementDay {
  operatorFee: OperatorFee;
  operatorFeesMinor: number;
  netMinor: number;
}

export type LineStatus = 'pay' | 'carried' | 'held';

export interface MerchantPayout {
  merchantId: string;
  status: LineStatus;
  /** Why nothing is paid (carried or held). */
  reason: string | null;
  items: PayoutItem[];
  payments: number;
  grossMinor: number;
  refundsMinor: number;
  channelFeesMinor: number;
  operatorFeesMinor: number;
  adjustmentsMinor: number;
  carriedInMinor: number;
  balanceMinor: number;
  /** What goes to the bank now (0 unless status is pay). */
  amountMinor: number;
  /** What the next run starts from. */
  carriedOutMinor: number;
}

function checkPercent(percent: string): Decimal {
  if (!/^\d{1,3}(\.\d{1,4})?$/.test(percent))
    throw new Error(`operator fee percent "${percent}" is not a decimal such as 1.5`);
  const p = new Decimal(percent);
  if (p.gt(100)) throw new Error(`operator fee percent ${percent} is above 100`);
  return p;
}

/** The operator's fee on one settlement day. */
export function operatorFeeOf(day: Pick<SettlementDay, 'grossMinor' | 'payments'>, fee: OperatorFee): number {
  const pct = checkPercent(fee.percent);
  if (!Number.isSafeInteger(fee.fixedMinor) || fee.fixedMinor < 0)
    throw new Error('operator fixed fee is a whole, non-negative number of cents');
  const variable = new Decimal(day.grossMinor).mul(pct).div(100).toDecimalPlaces(0, Decimal.ROUND_HALF_UP).toNumber();
  return variable + fee.fixedMinor * day.payments;
}

export function itemOf(day: SettlementDay, fee: OperatorFee): PayoutItem {
  const operatorFeesMinor = operatorFeeOf(day, fee);
  return {
    ...day,
    operatorFee: fee,
    operatorFeesMinor,
    netMinor: day.grossMinor - day.refundsMinor - day.channelFeesMinor - operatorFeesMinor + day.adjustmentsMinor,
  };
}

/** One merchant's line of a run. Days in another currency than NZD are not taken. */
export function merchantPayout(input: MerchantPayoutInput): MerchantPayout {
  const items = input.days
    .filter((d) => d.currency === PAYOUT_CURRENCY)
    .map((d) => itemOf(d, input.fees.get(d.channel) ?? NO_FEE))
    .sort((a, b) => a.day.localeCompare(b.day) || a.channel.localeCompare(b.channel));
  const sum = (f: (i: PayoutItem) => number) => items.reduce((s, i) => s + f(i), 0);
  const net = sum((i) => i.netMinor);
  const balanceMinor = net + input.carriedInMinor;
  let status: LineStatus = 'pay';
  let reason: string | null = null;
  const a = input.account;
  if (!a) {
    status = 'held';
    reason = 'no approved bank account';
  } else if (a.payableFrom > input.now) {
    status = 'held';
    reason = `bank account changed: cooling off until ${a.payableFrom}`;
  } else if (balanceMinor < 0) {
    status = 'carried';
    reason = 'balance is negative';
  } else if (balanceMinor === 0) {
    status = 'carried';
    reason = 'nothing to pay';
  } else if (balanceMinor < a.minimumMinor) {
    status = 'carried';
    reason = `below the minimum payout of ${a.minimumMinor} cents`;
  }
  const amountMinor = status === 'pay' ? balanceMinor : 0;
  return {
    merchantId: input.merchantId,
    status,
    reason,
    items,
    payments: sum((i) => i.payments),
    grossMinor: sum((i) => i.grossMinor),
    refundsMinor: sum((i) => i.refundsMinor),
    channelFeesMinor: sum((i) => i.channelFeesMinor),
    operatorFeesMinor: sum((i) => i.operatorFeesMinor),
    adjustmentsMinor: sum((i) => i.adjustmentsMinor),
    carriedInMinor: input.carriedInMinor,
    balanceMinor,
    amountMinor,
    carriedOutMinor: balanceMinor - amountMinor,
  };
}

/** New Zealand business days (Monday to Friday) from `from` to `to`, both YYYY-MM-DD, `from` not counted. */
export function businessDaysBetween(from: string, to: string): number {
  let n = 0;
  const end = Date.parse(`${to}T00:00:00Z`);
  for (let t = Date.parse(`${from}T00:00:00Z`) + 86_400_000; t <= end; t += 86_400_000) {
    const wd = new Date(t).getUTCDay();
    if (wd !== 0 && wd !== 6) n++;
  }
  return n;
}

const NZ_DATE = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Pacific/Auckland',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/** The New Zealand calendar date of an instant. */
export function nzDate(at: Date): string {
  return NZ_DATE.format(at);
}

export type Schedule = 'daily' | 'weekly' | 'monthly';

/** Whether a merchant's schedule pays on this New Zealand date: weekly on ISO weekday 1–7, monthly on day 1–28. */
export function scheduleDue(schedule: Schedule, scheduleDay: number | null, date: string): boolean {
  if (schedule === 'daily') return true;
  const d = new Date(`${date}T00:00:00Z`);
  if (schedule === 'weekly') return (d.getUTCDay() || 7) === scheduleDay;
  return d.getUTCDate() === scheduleDay;
}
