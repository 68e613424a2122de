import { channelDay } from '../../../protocol/channel-day.js';
import type { Clock } from '../../../protocol/clock.js';
import { ERRORS, KauriError, type ErrorCode } from '../../../protocol/errors.js';
import type { LinkErrorBody, ResultMessage } from '../../../protocol/link.js';
import { money } from '../../../protocol/money.js';
import type { ChannelName } from '../../../protocol/payments.js';
import { canCloseDay } from '../../receipts/settlement-report.js';
import type { TerminalDb } from '../db.js';
import type { ChannelTotals, OpenPayment, SettlementSummary } from '../records.js';
import { isActive } from '../words.js';
import { storeDay, type Ledger } from './ledger.js';
import type { CounterDevices } from './types.js';

// The daily settlement: the X-report (a look that closes nothing) and the Z-report, which
// closes the store day once, with the manager PIN the bridge checks.

// Manager PINs became 6–12 digits: a store still on a shorter one needs a new one.
export const MANAGER_PIN_HINT = 'Enter the manager PIN (6–12 digits; if yours is shorter, ask HQ to set a new one)';

export function checkPinShape(pin: string): void {
  if (!/^\d{6,12}$/.test(pin)) throw new KauriError('manager_pin_invalid', MANAGER_PIN_HINT);
}

/** A settlement and the payments and refunds it counts (a Z marks them as counted). */
interface SettlementScope {
  summary: SettlementSummary;
  saleIds: string[];
  refundNos: string[];
}

export interface SettlementDeps {
  db: TerminalDb;
  clock: Clock;
  ledger: Ledger;
  devices?: CounterDevices;
  /** The PIN check: the bridge's answer, or undefined when it gave none. */
  ask(managerPin: string): Promise<ResultMessage | undefined>;
  online(): boolean;
  linkError(): LinkErrorBody | null;
}

export class Settlement {
  /** A Z close is waiting for the bridge's PIN check: a second one waits its turn. */
  private closing = false;

  constructor(private readonly d: SettlementDeps) {}

  build(report: 'X' | 'Z'): SettlementSummary {
    return this.scope(report).summary;
  }

  /** The X report (a mid-day look that closes nothing) of the store day. */
  x(): SettlementSummary {
    const summary = this.build('X');
    this.d.db.journal('settlement.x', { storeDay: summary.storeDay, head: summary.journalHead });
    this.d.devices?.printSettlement?.(summary);
    return summary;
  }

  /**
   * The Z-report: closes the store day, once, with the manager PIN the bridge checks
   * (offline the day stays open). Refused while a payment's outcome is unknown or one is
   * in progress, since the day's totals could still change under the report; pending
   * payments of the day (canCloseDay lets them through) are listed on it as open.
   */
  async z(managerPin: string): Promise<SettlementSummary> {
    checkPinShape(managerPin);
    if (this.closing) throw new KauriError('day_close_refused', 'The day is being closed already: wait for it');
    this.closing = true;
    try {
      this.closable();
      const linkError = this.d.linkError();
      if (linkError) throw new KauriError('terminal_revoked', `The bridge refused this terminal: ${linkError.message}`);
      if (!this.d.online()) throw new KauriError('day_close_offline');
      const m = await this.d.ask(managerPin);
      if (!m)
        throw new KauriError(
          'day_close_offline',
          'The bridge did not answer the PIN check: the day is still open, try again',
        );
      if (!m.ok)
        throw new KauriError((m.error!.code in ERRORS ? m.error!.code : 'internal') as ErrorCode, m.error!.message);
      // A payment may have started or changed while the bridge checked the PIN: decide again.
      // From here to the commit nothing awaits: no event can settle a payment between the
      // totals and the marks that say which Z counted it.
      const scope = this.closable();
      const z: SettlementSummary = { ...scope.summary, printedBy: 'PIN verified 已验证' };
      const db = this.d.db;
      db.tx(() => {
        z.closeNumber = db.nextCloseNumber();
        db.markReported(z.closeNumber, scope.saleIds, scope.refundNos);
        db.insertDayClose({
          close_no: z.closeNumber,
          store_day: z.storeDay,
          generated_at: z.generatedAt,
          summary: JSON.stringify(z),
          journal_seq: z.journalHead.sequence,
          journal_hash: z.journalHead.hash,
        });
        db.journal('settlement.z', {
          storeDay: z.storeDay,
          closeNumber: z.closeNumber,
          head: z.journalHead,
          open: z.openPayments.length,
        });
      });
      this.d.devices?.printSettlement?.(z);
      return z;
    } finally {
      this.closing = false;
    }
  }

  /** The Z summary of the store day if it may be closed now; the reason it may not, otherwise. */
  private closable(): SettlementScope {
    const scope = this.scope('Z');
    const summary = scope.summary;
    const check = canCloseDay(summary);
    if (!check.ok)
      throw new KauriError(
        'day_close_refused',
        `${check.reason!.en}. The counter keeps asking the channel; close the day once it is known`,
      );
    const cur = this.d.ledger.currentSale();
    if (cur && isActive(cur.status))
      throw new KauriError('day_close_refused', 'A payment is in progress: finish or cancel it, then close the day');
    const done = this.d.db.dayClose(summary.storeDay);
    if (done) {
      const at = new Date(done.generated_at).toLocaleTimeString('en-NZ', {
        timeZone: summary.store.timeZone,
        hour: '2-digit',
        minute: '2-digit',
        hour12: false,
      });
      throw new KauriError(
        'day_already_closed',
        `Store day ${summary.storeDay} is already closed (close no. ${done.close_no} at ${at}). Settlement (F4) still prints an X-report`,
      );
    }
    return scope;
  }

  /**
   * What the next Z counts: every payment settled and every refund succeeded that no Z
   * has counted yet, whatever day it began — a payment still pending at the last close
   * that settled after it, a refund today of last week's sale — so nothing falls between
   * two reports; and every payment still open, whatever day it began. An X is the same
   * look without the close.
   */
  private scope(report: 'X' | 'Z'): SettlementScope {
    const { db, ledger } = this.d;
    const store = ledger.storeInfo();
    const byChannel = new Map<ChannelName, ChannelTotals>();
    const days = new Map<string, { count: number; netMinor: number }>();
    const totals = (channel: ChannelName): ChannelTotals => {
      let t = byChannel.get(channel);
      if (!t)
        byChannel.set(
          channel,
          (t = { channel, count: 0, grossMinor: 0, refundCount: 0, refundsMinor: 0, netMinor: 0 }),
        );
      return t;
    };
    const day = (iso: string) => {
      const key = channelDay(iso);
      let d = days.get(key);
      if (!d) days.set(key, (d = { count: 0, netMinor: 0 }));
      return d;
    };
    const sales = db.unreportedSales();
    for (const s of sales) {
      const t = totals((s.channel ?? 'wechat') as ChannelName);
      t.count++;
      t.grossMinor += s.amount_minor;
      const d = day(s.paid_at ?? s.updated_at);
      d.count++;
      d.netMinor += s.amount_minor;
    }
    const refunds = db.unreportedRefunds();
    for (const r of refunds) {
      const t = totals((r.channel ?? 'wechat') as ChannelName);
      t.refundCount++;
      t.refundsMinor += r.amount_minor;
      day(r.updated_at).netMinor -= r.amount_minor;
    }
    for (const t of byChannel.values()) t.netMinor = t.grossMinor - t.refundsMinor;
    const open: OpenPayment[] = db
      .openSales()
      .filter((s) => s.out_trade_no)
      .map((s) => ({
        outTradeNo: s.out_trade_no!,
        channel: (s.channel ?? 'wechat') as ChannelName,
        amount: money(s.amount_minor, s.currency),
        status: s.status === 'unknown' ? 'unknown' : 'pending',
        createdAt: s.created_at,
      }));
    const previous = db.lastDayClose();
    const now = this.d.clock.now().toISOString();
    const summary: SettlementSummary = {
      report,
      store,
      storeDay: storeDay(now, store.timeZone),
      generatedAt: now,
      currency: ledger.currency(),
      channels: [...byChannel.values()].sort((a, b) => a.channel.localeCompare(b.channel)),
      openPayments: open,
      channelDays: [...days.entries()].sort().map(([channelDay, d]) => ({ channelDay, ...d })),
      journalHead: db.journalHead(),
      ...(previous ? { periodStart: previous.generated_at } : {}),
    };
    return { summary, saleIds: sales.map((s) => s.id), refundNos: refunds.map((r) => r.out_refund_no) };
  }
}
