import { EventEmitter } from 'node:events';
import QRCode from 'qrcode';
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import { ERRORS, KauriError, type ErrorCode } from '../../protocol/errors.js';
import { newId } from '../../protocol/ids.js';
import {
  LINK_VERSION,
  PairResponse,
  type CommandArgsOf,
  type CommandName,
  type EventMessage,
  type LinkErrorBody,
  type LinkStoreInfo,
  type ResultMessage,
} from '../../protocol/link.js';
import { money, parseDecimal, type Money } from '../../protocol/money.js';
import type { ChannelName } from '../../protocol/payments.js';
import type { ChannelTotals, OpenPayment, RefundRecord, SaleRecord, SettlementSummary, StoreInfo } from './records.js';
import { TerminalDb, type RefundRow, type SaleRow, type SaleStatus } from './db.js';
import { LinkClient } from './link-client.js';
import { canCloseDay } from '../receipts/settlement-report.js';
import { ScanFilter } from './scan.js';
import { isActive, isPaidFamily, statusWord, STATUS_TEXT, type StatusWord } from './words.js';

// Everything the counter does, as plain Node: the screens (Electron windows or the
// headless HTTP server) only show `snapshot()` and call the actions. Every command is
// written to SQLite with its idempotency key before it is sent, and leaves only on the
// bridge's answer; every event is applied, with the sequence it carries, in one
// transaction: killing the process at any moment loses nothing and repeats nothing.

const CURRENCY = 'NZD';
// Manager PINs are 6–12 digits: a store still on a shorter one needs a new one.
const MANAGER_PIN_HINT = 'Enter the manager PIN (6–12 digits; if yours is shorter, ask HQ to set a new one)';

interface PaymentView {
  id: string;
  out_trade_no: string;
  channel: string;
  status: string;
  amount_minor: number;
  currency: string;
  refunded_minor: number;
  cny_charged_minor?: number;
  rate?: string;
  channel_trade_no?: string;
  checkout_id?: string;
  paid_at?: string;
  created_at: string;
}

export interface DeviceHealth {
  kind: 'printer' | 'display' | 'scanner';
  state: string;
  detail?: string;
}

/** Output devices the counter drives, when the device drivers are wired in (`none` otherwise). */
export interface CounterDevices {
  health(): DeviceHealth[];
  /** The pole display follows the current sale (null: idle). */
  showSale?(
    sale: { amountMinor: number; currency: string; cnyMinor?: number; status: StatusWord } | null,
    storeName: string,
  ): void;
  printSale?(record: SaleRecord): void;
  printRefund?(record: RefundRecord): void;
  printSettlement?(summary: SettlementSummary): void;
  stop?(): Promise<void>;
}

/** A settlement and the payments and refunds it counts (a Z marks them as counted). */
interface SettlementScope {
  summary: SettlementSummary;
  saleIds: string[];
  refundNos: string[];
}

export interface FxEstimate {
  cnyMinor: number;
  rate: string;
  rateTime: string;
}

export interface CounterState {
  terminalId: string | null;
  terminalName: string | null;
  store: LinkStoreInfo | null;
  connection: 'ONLINE' | 'OFFLINE';
  linkError: LinkErrorBody | null;
  outboxCount: number;
  current: SaleView | null;
  fx: { amountMinor: number; wechat: FxEstimate | null; alipay: FxEstimate | null } | null;
  staticQr: string | null;
  today: SaleView[];
  totals: { count: number; grossMinor: number; refundsMinor: number; netMinor: number };
  devices: DeviceHealth[];
  settlement: SettlementSummary | null;
  notice: { kind: 'info' | 'error'; en: string; zh: string; at: string } | null;
  scanError: { en: string; zh: string; at: string } | null;
  /** A receipt scanned (or its order number typed) into the scan field: the sale to refund. */
  refundCandidate: (SaleView & { at: string }) | null;
  now: string;
}

export interface SaleView {
  id: string;
  kind: SaleRow['kind'];
  outTradeNo: string | null;
  channel: string | null;
  amountMinor: number;
  currency: string;
  status: StatusWord;
  text: { cashier: [string, string]; customer: [string, string] };
  active: boolean;
  refundedMinor: number;
  refundableMinor: number;
  cnyChargedMinor: number | null;
  rate: string | null;
  qr: string | null;
  url: string | null;
  expiresAt: string | null;
  message: string | null;
  createdAt: string;
  updatedAt: string;
  paidAt: string | null;
}

export interface CounterOptions {
  dataDir: string;
  clock: Clock;
  log: Logger;
  devices?: CounterDevices;
  /** How long a double scan of the same code is ignored. */
  scanWindowMs?: number;
}

/** Exchanges a one-time pairing code for this counter's credential (kept in its SQLite only). */
export async function pairTerminal(
  dataDir: string,
  bridgeWs: string,
  code: string,
  name?: string,
): Promise<PairResponse> {
  const url = new URL(bridgeWs);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = url.pathname.replace(/\/terminal\/?$/, '') + '/terminal/pair';
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, name }),
    });
  } catch (err) {
    throw new KauriError('channel_unavailable', `Cannot reach the bridge at ${url.origin}: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok)
    throw new KauriError(
      res.status === 400 ? 'pairing_code_invalid' : 'unauthenticated',
      body.error?.message ?? `Pairing refused (HTTP ${res.status})`,
    );
  const paired = PairResponse.parse(body);
  const db = new TerminalDb(dataDir);
  try {
    db.tx(() => {
      db.setSetting('terminal_id', paired.terminalId);
      db.setSetting('terminal_secret', paired.secret);
      db.setSetting('terminal_name', paired.name);
      db.setSetting('bridge_ws', bridgeWs);
    });
  } finally {
    db.close();
  }
  // The secret never leaves this machine: TerminalDb keeps the database this user's only.
  return paired;
}

export class Counter extends EventEmitter {
  readonly db: TerminalDb;
  private link?: LinkClient;
  private readonly scans: ScanFilter;
  private readonly qrCache = new Map<string, string>();
  private readonly ephemeral = new Map<string, (r: ResultMessage) => void>();
  private readonly answered = new Map<string, (r: ResultMessage) => void>();
  private fx: CounterState['fx'] = null;
  private notice: CounterState['notice'] = null;
  private scanError: CounterState['scanError'] = null;
  private refundCandidate: { saleId: string; at: string } | null = null;
  private settlement: SettlementSummary | null = null;
  private linkError: LinkErrorBody | null = null;
  private keyedAmount = '';
  private pendingResults: ResultMessage[] = [];
  private closed = false;
  /** A Z close is waiting for the bridge's PIN check: a second one waits its turn. */
  private closingDay = false;

  constructor(private readonly o: CounterOptions) {
    super();
    this.db = new TerminalDb(o.dataDir);
    this.scans = new ScanFilter(o.scanWindowMs ?? 5000);
  }

  get paired(): boolean {
    return !!this.db.getSetting('terminal_id');
  }

  get online(): boolean {
    return this.link?.online ?? false;
  }

  /** Connects to the bridge this counter was paired with (or `bridgeWs`, if given). */
  start(bridgeWs?: string): void {
    const terminalId = this.db.getSetting('terminal_id');
    const secret = this.db.getSetting('terminal_secret');
    if (!terminalId || !secret)
      throw new KauriError('unauthenticated', 'This terminal is not paired: run kauri terminal --pair CODE once');
    const url = bridgeWs ?? this.db.getSetting('bridge_ws');
    if (!url) throw new KauriError('config_invalid', 'No bridge URL: pass --bridge ws://…/terminal');
    this.link = new LinkClient({
      url,
      terminalId,
      secret,
      clock: this.o.clock,
      log: this.o.log.child({ part: 'link' }),
      lastSeq: () => this.db.lastEventSeq,
      handlers: {
        welcome: (m) => {
          this.db.setSetting('store', JSON.stringify(m.store));
          this.db.setSetting('terminal_name', m.terminalName);
        },
        online: (online) => {
          if (online) {
            this.linkError = null;
            this.flushOutbox();
            this.reportHealth();
          }
          this.changed();
        },
        event: (m) => this.onEvent(m),
        result: (m) => this.onResult(m),
        fatal: (e) => {
          this.linkError = e;
          this.o.log.error({ code: e.code }, 'the bridge refused this terminal');
          this.changed();
        },
      },
    });
    this.link.start();
  }

  /** The cashier's "try now" while offline. */
  reconnect(): void {
    this.link?.reconnectNow();
  }

  stop(): void {
    this.closed = true;
    this.link?.stop();
    void this.o.devices?.stop?.();
    this.db.close();
  }

  private shown = '';

  private changed(): void {
    this.emit('change');
    const show = this.o.devices?.showSale;
    if (!show) return;
    const cur = this.currentSale();
    const sale = cur
      ? {
          amountMinor: cur.amount_minor,
          currency: cur.currency,
          status: statusWord(cur.status),
          cnyMinor: this.fx?.amountMinor === cur.amount_minor ? this.fx.wechat?.cnyMinor : undefined,
        }
      : null;
    const key = JSON.stringify(sale);
    if (key === this.shown) return;
    this.shown = key;
    show(sale, this.storeInfo().name);
  }

  // ---- actions (from the screens) ----

  charge(amountText: string): SaleView {
    const amount = this.parseAmount(amountText);
    this.mustStartPayment();
    const sale = newSale({
      id: newId('sale'),
      kind: 'checkout',
      amount_minor: amount.minor,
      currency: amount.currency,
      status: 'creating',
      created_at: new Date().toISOString(),
    });
    return this.startSale(sale, 'checkout.create', { amountMinor: amount.minor, currency: amount.currency }, amount);
  }

  /** A new sale and its command to the bridge, in one transaction (the outbox has it before it is sent), then sent. */
  private startSale<N extends CommandName>(sale: SaleRow, name: N, args: CommandArgsOf<N>, amount: Money): SaleView {
    const key = newId();
    this.db.tx(() => {
      this.db.insertSale(sale);
      this.db.enqueue(key, name, args, sale.id);
      this.db.setSetting('current_sale', sale.id);
      this.db.journal('sale.started', {
        id: sale.id,
        kind: sale.kind,
        outTradeNo: sale.out_trade_no ?? undefined,
        channel: sale.channel ?? undefined,
        amountMinor: sale.amount_minor,
        currency: sale.currency,
      });
    });
    this.scanError = null;
    this.settlement = null;
    this.sendQueued(key);
    this.estimate(amount);
    this.changed();
    return this.view(this.db.sale(sale.id)!);
  }

  /**
   * A code from the scan field (or a serial scanner): the customer's payment code, or
   * one of this counter's receipts, whose QR carries the order number, to refund it.
   */
  scan(code: string, amountText: string): SaleView {
    const receipt = this.receiptSale(code);
    if (receipt) return this.offerRefund(receipt);
    const verdict = this.scans.check(code);
    if (!verdict.ok) {
      this.scanError = { en: verdict.message, zh: verdict.zh, at: new Date().toISOString() };
      this.changed();
      throw new KauriError(verdict.reason === 'duplicate' ? 'scan_duplicate' : 'auth_code_invalid', verdict.message);
    }
    let amount: Money;
    try {
      amount = this.parseAmount(amountText);
      this.mustStartPayment();
    } catch (err) {
      const e = err as KauriError;
      this.scanError = { en: e.message, zh: e.zh ?? '', at: new Date().toISOString() };
      this.changed();
      throw err;
    }
    const outTradeNo = `K${newId()}`;
    const sale = newSale({
      id: newId('sale'),
      kind: 'scan',
      out_trade_no: outTradeNo,
      channel: verdict.channel,
      amount_minor: amount.minor,
      currency: amount.currency,
      status: 'pending',
      created_at: new Date().toISOString(),
    });
    return this.startSale(
      sale,
      'payment.scan',
      { outTradeNo, amountMinor: amount.minor, currency: amount.currency, authCode: verdict.code },
      amount,
    );
  }

  /** Cancels the current payment safely: the bridge asks the channel first, then closes or reverses. */
  cancel(): SaleView | null {
    const sale = this.currentSale();
    if (!sale || !isActive(sale.status)) return sale ? this.view(sale) : null;
    const key = newId();
    this.db.tx(() => {
      if (sale.kind === 'checkout') {
        if (sale.checkout_id) this.db.enqueue(key, 'checkout.cancel', { checkoutId: sale.checkout_id }, sale.id);
        this.db.updateSale(sale.id, { cancel_requested: 1 });
      } else if (sale.out_trade_no) {
        this.db.enqueue(key, 'payment.cancel', { outTradeNo: sale.out_trade_no }, sale.id);
        this.db.updateSale(sale.id, { cancel_requested: 1 });
      }
      this.db.journal('sale.cancel_requested', { id: sale.id });
    });
    this.sendQueued(key);
    this.changed();
    return this.view(this.db.sale(sale.id)!);
  }

  /** A refund of a paid sale (by sale id or the order number on its receipt), full when no amount is given. */
  async refund(
    ref: string,
    amountText: string,
    managerPin: string,
    reason?: string,
  ): Promise<{ outRefundNo: string; status: string }> {
    const sale = this.db.sale(ref) ?? this.db.saleBy('out_trade_no', ref.trim());
    if (!sale || !sale.out_trade_no || !isPaidFamily(sale.status))
      throw new KauriError('order_not_refundable', 'Pick a paid sale to refund');
    const remaining = sale.amount_minor - sale.refunded_minor - this.pendingRefunds(sale.id);
    const amount = amountText.trim() ? this.parseAmount(amountText) : money(remaining, sale.currency);
    if (amount.minor <= 0 || amount.minor > remaining)
      throw new KauriError(
        'refund_exceeds_remainder',
        `At most ${(remaining / 100).toFixed(2)} ${sale.currency} can be refunded`,
      );
    if (!/^\d{6,12}$/.test(managerPin)) throw new KauriError('manager_pin_invalid', MANAGER_PIN_HINT);
    const outRefundNo = `R${newId()}`;
    const key = newId();
    const now = new Date().toISOString();
    this.db.tx(() => {
      this.db.insertRefund({
        out_refund_no: outRefundNo,
        sale_id: sale.id,
        amount_minor: amount.minor,
        currency: sale.currency,
        status: 'queued',
        message: null,
        created_at: now,
        updated_at: now,
      });
      this.db.enqueue(
        key,
        'refund.create',
        {
          outTradeNo: sale.out_trade_no!,
          outRefundNo,
          amountMinor: amount.minor,
          managerPin,
          reason,
        } satisfies CommandArgsOf<'refund.create'>,
        outRefundNo,
      );
      this.db.journal('refund.requested', { outRefundNo, outTradeNo: sale.out_trade_no, amountMinor: amount.minor });
    });
    this.refundCandidate = null;
    this.changed();
    if (!this.online) return { outRefundNo, status: 'queued' };
    // Online, the cashier waits for the bridge's word (a wrong PIN is said at once);
    // should it be slow, the refund stays queued and its answer arrives later.
    const answer = new Promise<ResultMessage | undefined>((resolve) => {
      const t = setTimeout(() => {
        this.answered.delete(key);
        resolve(undefined);
      }, this.o.clock.duration(10_000));
      this.answered.set(key, (m) => {
        clearTimeout(t);
        resolve(m);
      });
    });
    this.sendQueued(key);
    const m = await answer;
    if (!m) return { outRefundNo, status: 'queued' };
    if (!m.ok)
      throw new KauriError((m.error!.code in ERRORS ? m.error!.code : 'internal') as ErrorCode, m.error!.message);
    return { outRefundNo, status: this.db.refund(outRefundNo)?.status ?? 'processing' };
  }

  /** What the cashier has keyed so far: a serial scanner's code is charged for this amount. */
  setKeyedAmount(text: string): void {
    // Keying a new amount is moving on: the last refused scan is no longer the news.
    if (text !== this.keyedAmount && this.scanError) {
      this.scanError = null;
      this.changed();
    }
    this.keyedAmount = text;
  }

  /** The sale a receipt's QR (its order number, bare or at the end of a link) belongs to. */
  private receiptSale(code: string): SaleRow | undefined {
    const ref = code.trim().replace(/^https?:\/\/\S*\/r\/([^/?#\s]+)$/, '$1');
    if (!/^[A-Za-z0-9_-]{6,64}$/.test(ref) || /^\d+$/.test(ref)) return undefined; // payment codes are all digits
    return this.db.saleBy('out_trade_no', ref);
  }

  private offerRefund(sale: SaleRow): SaleView {
    const view = this.view(sale);
    const at = new Date().toISOString();
    this.scanError = null;
    if (view.refundableMinor > 0) {
      this.refundCandidate = { saleId: sale.id, at };
      const left = (view.refundableMinor / 100).toFixed(2);
      this.notice = {
        kind: 'info',
        at,
        en: `Receipt ${sale.out_trade_no}: up to ${left} ${sale.currency} can be refunded. Key the amount (blank = all) and the manager PIN.`,
        zh: `小票 ${sale.out_trade_no}：最多可退 ${left} ${sale.currency}。请输入金额（留空=全额）和店长密码。`,
      };
    } else {
      this.refundCandidate = null;
      this.scanError = {
        en: `Receipt ${sale.out_trade_no} has nothing left to refund (${view.status})`,
        zh: `小票 ${sale.out_trade_no} 没有可退金额`,
        at,
      };
    }
    this.changed();
    return view;
  }

  /** A code from a serial scanner (a keyboard-wedge one types into the scan field instead). */
  scanFromDevice(code: string): void {
    try {
      this.scan(code, this.keyedAmount);
    } catch {
      // scan() put the reason on the screen (scan-error)
    }
  }

  /** A refused scan from a device, said on the screen as the scan field says it. */
  deviceScanRefused(en: string): void {
    this.scanError = { en, zh: '付款码无效', at: new Date().toISOString() };
    this.changed();
  }

  dismiss(): void {
    const sale = this.currentSale();
    if (sale && isActive(sale.status))
      throw new KauriError('payment_in_progress', 'Finish or cancel the current payment first');
    this.db.setSetting('current_sale', '');
    this.settlement = null;
    this.notice = null;
    this.changed();
  }

  /** The X report (a mid-day look that closes nothing) of the store day. */
  settlementReport(): SettlementSummary {
    const summary = this.buildSettlement('X');
    this.settlement = summary;
    this.db.journal('settlement.x', { storeDay: summary.storeDay, head: summary.journalHead });
    this.o.devices?.printSettlement?.(summary);
    this.changed();
    return summary;
  }

  /**
   * The Z-report: closes the store day, once, with the manager PIN the bridge checks
   * (offline the day stays open). Refused while a payment's outcome is unknown or one is
   * in progress, since the day's totals could still change under the report; pending
   * payments of the day (canCloseDay lets them through) are listed on it as open.
   */
  async closeDay(managerPin: string): Promise<SettlementSummary> {
    if (!/^\d{6,12}$/.test(managerPin)) throw new KauriError('manager_pin_invalid', MANAGER_PIN_HINT);
    if (this.closingDay) throw new KauriError('day_close_refused', 'The day is being closed already: wait for it');
    this.closingDay = true;
    try {
      this.dayClosable();
      if (this.linkError)
        throw new KauriError('terminal_revoked', `The bridge refused this terminal: ${this.linkError.message}`);
      if (!this.online) throw new KauriError('day_close_offline');
      const m = await this.ask('manager.verify', { managerPin, purpose: 'day_close' });
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
      const scope = this.dayClosable();
      const z: SettlementSummary = { ...scope.summary, printedBy: 'PIN verified 已验证' };
      this.db.tx(() => {
        z.closeNumber = this.db.nextCloseNumber();
        this.db.markReported(z.closeNumber, scope.saleIds, scope.refundNos);
        this.db.insertDayClose({
          close_no: z.closeNumber,
          store_day: z.storeDay,
          generated_at: z.generatedAt,
          summary: JSON.stringify(z),
          journal_seq: z.journalHead.sequence,
          journal_hash: z.journalHead.hash,
        });
        this.db.journal('settlement.z', {
          storeDay: z.storeDay,
          closeNumber: z.closeNumber,
          head: z.journalHead,
          open: z.openPayments.length,
        });
      });
      this.settlement = z;
      this.o.devices?.printSettlement?.(z);
      this.changed();
      return z;
    } finally {
      this.closingDay = false;
    }
  }

  /** The Z summary of the store day if it may be closed now; the reason it may not, otherwise. */
  private dayClosable(): SettlementScope {
    const scope = this.settlementScope('Z');
    const summary = scope.summary;
    const check = canCloseDay(summary);
    if (!check.ok)
      throw new KauriError(
        'day_close_refused',
        `${check.reason!.en}. The counter keeps asking the channel; close the day once it is known`,
      );
    const cur = this.currentSale();
    if (cur && isActive(cur.status))
      throw new KauriError('day_close_refused', 'A payment is in progress: finish or cancel it, then close the day');
    const done = this.db.dayClose(summary.storeDay);
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

  private parseAmount(text: string): Money {
    let amount: Money;
    try {
      amount = parseDecimal(text.trim(), CURRENCY);
    } catch {
      throw new KauriError('invalid_amount', `"${text}" is not an amount: key it like 12.50`);
    }
    if (amount.minor <= 0) throw new KauriError('invalid_amount', 'Key an amount above zero');
    if (amount.minor > 10_000_000)
      throw new KauriError('amount_overflow', 'That is more than a counter may charge at once');
    return amount;
  }

  private mustStartPayment(): void {
    if (this.linkError)
      throw new KauriError('terminal_revoked', `The bridge refused this terminal: ${this.linkError.message}`);
    // A new payment needs the channel now: offline, say so plainly rather than queue it.
    if (!this.online) throw new KauriError('terminal_offline');
    const cur = this.currentSale();
    if (cur && isActive(cur.status))
      throw new KauriError('payment_in_progress', 'Finish or cancel the current payment first');
  }

  private currentSale(): SaleRow | undefined {
    const id = this.db.getSetting('current_sale');
    return id ? this.db.sale(id) : undefined;
  }

  private pendingRefunds(saleId: string): number {
    return this.db
      .refundsOf(saleId)
      .filter((r) => r.status === 'queued')
      .reduce((a, r) => a + r.amount_minor, 0);
  }

  private estimate(amount: Money): void {
    this.fx = { amountMinor: amount.minor, wechat: null, alipay: null };
    this.sendEphemeral('fx.estimate', { amountMinor: amount.minor, currency: amount.currency }, (r) => {
      if (!r.ok || this.fx?.amountMinor !== amount.minor) return;
      const d = r.data as { wechat: FxEstimate | null; alipay: FxEstimate | null };
      this.fx = { amountMinor: amount.minor, wechat: d.wechat ?? null, alipay: d.alipay ?? null };
      this.changed();
    });
  }

  private reportedHealth = '';

  /** A device's state changed (paper out, unplugged, back): the screen and the bridge hear of it. */
  devicesChanged(): void {
    this.emit('change');
    if (this.online && JSON.stringify(this.deviceHealth()) !== this.reportedHealth) this.reportHealth();
  }

  private reportHealth(): void {
    const devices = this.deviceHealth();
    this.reportedHealth = JSON.stringify(devices);
    this.sendEphemeral('device.health', { devices }, () => undefined);
  }

  private deviceHealth(): DeviceHealth[] {
    return (
      this.o.devices?.health() ?? [
        { kind: 'printer', state: 'none', detail: 'not configured (--printer)' },
        { kind: 'display', state: 'none', detail: 'not configured (--display)' },
        { kind: 'scanner', state: 'keyboard', detail: 'scan field (keyboard wedge)' },
      ]
    );
  }

  // ---- the link ----

  private sendQueued(key: string): void {
    const row = this.db.outboxEntry(key);
    if (row)
      this.link?.send({
        v: LINK_VERSION,
        type: 'command',
        key: row.key,
        name: row.name as CommandName,
        args: JSON.parse(row.args),
      });
  }

  private flushOutbox(): void {
    for (const row of this.db.outbox()) {
      if (
        !this.link?.send({
          v: LINK_VERSION,
          type: 'command',
          key: row.key,
          name: row.name as CommandName,
          args: JSON.parse(row.args),
        })
      )
        break;
    }
  }

  /** Queries that need no outbox (estimates, health): lost with the link, asked again later. */
  private sendEphemeral<N extends CommandName>(
    name: N,
    args: CommandArgsOf<N>,
    done: (r: ResultMessage) => void,
  ): void {
    const key = newId();
    if (this.link?.send({ v: LINK_VERSION, type: 'command', key, name, args })) this.ephemeral.set(key, done);
  }

  /** A question for the bridge whose answer is awaited (undefined: no link, or no answer within 10 s). */
  private ask<N extends CommandName>(name: N, args: CommandArgsOf<N>): Promise<ResultMessage | undefined> {
    const key = newId();
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.ephemeral.delete(key);
        resolve(undefined);
      }, 10_000);
      this.ephemeral.set(key, (m) => {
        clearTimeout(t);
        resolve(m);
      });
      if (!this.link?.send({ v: LINK_VERSION, type: 'command', key, name, args })) {
        clearTimeout(t);
        this.ephemeral.delete(key);
        resolve(undefined);
      }
    });
  }

  private onResult(msg: ResultMessage): void {
    const eph = this.ephemeral.get(msg.key);
    if (eph) {
      this.ephemeral.delete(msg.key);
      eph(msg);
      return;
    }
    // Answers that arrive together (an outbox drained after a reconnect) are applied in
    // one transaction: one fsync for the lot, not one each.
    this.pendingResults.push(msg);
    if (this.pendingResults.length === 1) setImmediate(() => this.applyResults());
  }

  private applyResults(): void {
    const batch = this.pendingResults;
    this.pendingResults = [];
    if (this.closed || !batch.length) return; // still in the outbox: sent again, answered from the bridge's record
    const followUps: string[] = [];
    const applied: ResultMessage[] = [];
    this.db.tx(() => {
      for (const msg of batch) {
        const row = this.db.outboxEntry(msg.key);
        if (!row) continue; // answered before (a resend after a lost answer): nothing to do twice
        this.db.dequeue(msg.key);
        this.applyResult(row.name as CommandName, JSON.parse(row.args), row.ref, msg, followUps);
        this.db.journal('command.answered', { key: msg.key, name: row.name, ok: msg.ok, error: msg.error?.code });
        applied.push(msg);
      }
    });
    for (const k of followUps) this.sendQueued(k);
    for (const msg of applied) {
      this.answered.get(msg.key)?.(msg);
      this.answered.delete(msg.key);
    }
    this.changed();
  }

  private applyResult(name: CommandName, args: any, ref: string | null, msg: ResultMessage, followUps: string[]): void {
    const err = msg.error;
    switch (name) {
      case 'checkout.create': {
        const sale = ref ? this.db.sale(ref) : undefined;
        if (!sale) return;
        if (!msg.ok) {
          this.db.updateSale(sale.id, {
            status: 'failed',
            message: err?.message ?? 'The checkout could not be created',
          });
          return;
        }
        const c = msg.data as { id: string; url: string; expiresAt: string; status: string };
        this.db.updateSale(sale.id, {
          status: sale.status === 'creating' ? 'waiting' : sale.status,
          checkout_id: c.id,
          checkout_url: c.url,
          expires_at: c.expiresAt,
        });
        if (sale.cancel_requested) {
          const key = newId();
          this.db.enqueue(key, 'checkout.cancel', { checkoutId: c.id }, sale.id);
          followUps.push(key);
        }
        return;
      }
      case 'checkout.cancel': {
        const sale = ref ? this.db.sale(ref) : undefined;
        if (!sale) return;
        if (msg.ok && (msg.data as { status: string }).status === 'cancelled' && isActive(sale.status))
          this.db.updateSale(sale.id, { status: 'closed' });
        else if (!msg.ok) this.db.updateSale(sale.id, { message: err?.message ?? null });
        return;
      }
      case 'payment.scan':
      case 'payment.cancel':
      case 'payment.query': {
        const sale = ref ? this.db.sale(ref) : this.db.saleBy('out_trade_no', args.outTradeNo);
        if (!sale) return;
        if (msg.ok) {
          this.applyPayment(sale, msg.data as PaymentView);
        } else if (name === 'payment.scan') {
          // The bridge could not tell (channel silent): it keeps asking, and the answer
          // arrives as an event. A refusal is final.
          const unknown = ['channel_unavailable', 'channel_timeout', 'internal'].includes(err?.code ?? '');
          this.db.updateSale(sale.id, { status: unknown ? 'unknown' : 'failed', message: err?.message ?? null });
        } else {
          this.db.updateSale(sale.id, { message: err?.message ?? null });
        }
        return;
      }
      case 'refund.create': {
        const outRefundNo = args.outRefundNo as string;
        if (!msg.ok) {
          this.db.updateRefund(outRefundNo, 'failed', err?.message ?? 'refused');
          this.notice = {
            kind: 'error',
            en: `Refund refused: ${err?.message ?? ''}`,
            zh: `退款被拒绝：${err?.zh ?? ''}`,
            at: new Date().toISOString(),
          };
          return;
        }
        const d = msg.data as { refund: { status: RefundRow['status'] }; payment: PaymentView };
        this.db.updateRefund(outRefundNo, d.refund.status);
        const sale = this.db.saleBy('out_trade_no', d.payment.out_trade_no);
        if (sale) this.applyPayment(sale, d.payment);
        const r = this.db.refund(outRefundNo);
        if (r && sale) this.saveRefundReceipt(this.db.sale(sale.id)!, r);
        this.notice = {
          kind: d.refund.status === 'failed' ? 'error' : 'info',
          en: `Refund ${d.refund.status}`,
          zh: REFUND_ZH[d.refund.status],
          at: new Date().toISOString(),
        };
        return;
      }
      default:
        return;
    }
  }

  private onEvent(msg: EventMessage): void {
    if (msg.seq <= this.db.lastEventSeq) {
      this.link?.send({ v: LINK_VERSION, type: 'ack', seq: msg.seq });
      return;
    }
    this.db.tx(() => {
      this.applyEvent(msg);
      this.db.setSetting('last_event_seq', String(msg.seq));
    });
    this.link?.send({ v: LINK_VERSION, type: 'ack', seq: msg.seq });
    this.changed();
  }

  private applyEvent(msg: EventMessage): void {
    const p = msg.payload as any;
    switch (msg.event) {
      case 'payment.paid':
      case 'payment.failed':
      case 'payment.closed':
      case 'payment.reversed': {
        const view = p as PaymentView;
        let sale = this.db.saleBy('out_trade_no', view.out_trade_no);
        // A checkout's channel orders are the bridge's: only the one that was paid is ours to show.
        if (!sale && msg.event === 'payment.paid' && view.checkout_id)
          sale = this.db.saleBy('checkout_id', view.checkout_id);
        if (!sale) return;
        if (sale.kind === 'checkout' && msg.event !== 'payment.paid') return;
        this.applyPayment(sale, view, msg.seq);
        return;
      }
      case 'checkout.paid':
      case 'checkout.expired':
      case 'checkout.cancelled': {
        const sale = p.checkout?.id ? this.db.saleBy('checkout_id', p.checkout.id) : undefined;
        if (!sale) return;
        if (msg.event === 'checkout.paid' && p.payment) this.applyPayment(sale, p.payment as PaymentView, msg.seq);
        else if (isActive(sale.status))
          this.db.updateSale(sale.id, { status: msg.event === 'checkout.expired' ? 'expired' : 'closed' });
        this.db.journal(msg.event, { id: sale.id, checkoutId: p.checkout.id, seq: msg.seq });
        return;
      }
      case 'static_code.paid': {
        const pay = p.payment as PaymentView | undefined;
        if (!pay || this.db.saleBy('out_trade_no', pay.out_trade_no)) return;
        const id = newId('sale');
        this.db.insertSale(
          newSale({
            id,
            kind: 'static',
            out_trade_no: pay.out_trade_no,
            checkout_id: p.checkout?.id ?? null,
            channel: pay.channel,
            amount_minor: pay.amount_minor,
            currency: pay.currency,
            status: 'pending',
            created_at: pay.created_at,
          }),
        );
        this.applyPayment(this.db.sale(id)!, pay, msg.seq);
        this.notice = {
          kind: 'info',
          en: `Store code payment received: ${(pay.amount_minor / 100).toFixed(2)} ${pay.currency} (${pay.channel})`,
          zh: `收到店铺码付款：${(pay.amount_minor / 100).toFixed(2)} ${pay.currency}`,
          at: new Date().toISOString(),
        };
        return;
      }
      case 'refund.succeeded':
      case 'refund.failed': {
        const r = p.refund as {
          out_refund_no: string;
          status: RefundRow['status'];
          amount_minor: number;
          currency: string;
        };
        const sale = p.payment ? this.db.saleBy('out_trade_no', (p.payment as PaymentView).out_trade_no) : undefined;
        if (this.db.refund(r.out_refund_no)) {
          this.db.updateRefund(r.out_refund_no, r.status);
          this.notice =
            r.status === 'succeeded'
              ? { kind: 'info', en: 'Refund succeeded', zh: '退款成功', at: new Date().toISOString() }
              : { kind: 'error', en: 'Refund failed at the channel', zh: '退款失败', at: new Date().toISOString() };
        } else if (sale) {
          // A refund of this counter's sale made elsewhere (HQ, the merchant API, an automatic
          // one): kept here too, so the Z-report counts every refund of the counter's sales.
          const now = new Date().toISOString();
          this.db.insertRefund({
            out_refund_no: r.out_refund_no,
            sale_id: sale.id,
            amount_minor: r.amount_minor,
            currency: r.currency,
            status: r.status,
            message: null,
            created_at: now,
            updated_at: now,
          });
        }
        if (sale) this.applyPayment(sale, p.payment as PaymentView, msg.seq);
        this.db.journal(msg.event, { outRefundNo: r.out_refund_no, seq: msg.seq });
        return;
      }
      default:
        return;
    }
  }

  /** Takes the bridge's view of a payment into the sale (never back from paid). */
  private applyPayment(sale: SaleRow, view: PaymentView, seq?: number): void {
    const status = saleStatusOf(view.status);
    if (isPaidFamily(sale.status) && !isPaidFamily(status)) return;
    const wasPaid = isPaidFamily(sale.status);
    const patch: Partial<SaleRow> = {
      status,
      refunded_minor: view.refunded_minor ?? sale.refunded_minor,
      payment_id: view.id,
      channel: view.channel ?? sale.channel,
      out_trade_no: sale.out_trade_no ?? view.out_trade_no,
    };
    if (view.cny_charged_minor !== undefined) patch.cny_charged_minor = view.cny_charged_minor;
    if (view.rate !== undefined) patch.rate = view.rate;
    if (view.channel_trade_no) patch.channel_trade_no = view.channel_trade_no;
    if (view.paid_at) patch.paid_at = view.paid_at;
    const after = this.db.updateSale(sale.id, patch)!;
    if (status !== sale.status)
      this.db.journal(`sale.${status}`, {
        id: sale.id,
        outTradeNo: after.out_trade_no,
        channel: after.channel,
        amountMinor: after.amount_minor,
        refundedMinor: after.refunded_minor,
        seq,
      });
    if (!wasPaid && isPaidFamily(status)) {
      const record = this.saleRecord(after);
      this.db.saveReceipt('sale', after.id, record);
      this.o.devices?.printSale?.(record);
    }
  }

  // ---- records ----

  storeInfo(): StoreInfo {
    const s = this.store();
    return {
      name: s?.name ?? 'Kauri counter',
      timeZone: s?.timezone ?? 'Pacific/Auckland',
      storeCode: s?.code,
      terminalId: this.db.getSetting('terminal_id'),
    };
  }

  private store(): LinkStoreInfo | null {
    const raw = this.db.getSetting('store');
    return raw ? (JSON.parse(raw) as LinkStoreInfo) : null;
  }

  saleRecord(s: SaleRow): SaleRecord {
    return {
      store: this.storeInfo(),
      paymentId: s.payment_id ?? s.id,
      outTradeNo: s.out_trade_no ?? s.id,
      channelTradeNo: s.channel_trade_no ?? undefined,
      channel: (s.channel ?? 'wechat') as ChannelName,
      amount: money(s.amount_minor, s.currency),
      cnyCharged: s.cny_charged_minor !== null ? money(s.cny_charged_minor, 'CNY') : undefined,
      rate: s.rate ?? undefined,
      paidAt: s.paid_at ?? s.updated_at,
      lookupPayload: s.out_trade_no ?? undefined,
    };
  }

  private saveRefundReceipt(s: SaleRow, r: RefundRow): void {
    const record: RefundRecord = {
      store: this.storeInfo(),
      paymentId: s.payment_id ?? s.id,
      outTradeNo: s.out_trade_no ?? s.id,
      outRefundNo: r.out_refund_no,
      channelTradeNo: s.channel_trade_no ?? undefined,
      channel: (s.channel ?? 'wechat') as ChannelName,
      amount: money(r.amount_minor, r.currency),
      original: money(s.amount_minor, s.currency),
      refundedTotal: money(s.refunded_minor, s.currency),
      status: r.status === 'queued' ? 'processing' : r.status,
      refundedAt: r.created_at,
      lookupPayload: s.out_trade_no ?? undefined,
    };
    this.db.saveReceipt('refund', r.out_refund_no, record);
    this.o.devices?.printRefund?.(record);
  }

  private todaySales(): SaleRow[] {
    const tz = this.storeInfo().timeZone;
    const today = storeDay(new Date().toISOString(), tz);
    return this.db
      .salesSince(new Date(Date.now() - 48 * 3600_000).toISOString())
      .filter((s) => storeDay(s.created_at, tz) === today);
  }

  buildSettlement(report: 'X' | 'Z'): SettlementSummary {
    return this.settlementScope(report).summary;
  }

  /**
   * What the next Z counts: every payment settled and every refund succeeded that no Z
   * has counted yet, whatever day it began — a payment still pending at the last close
   * that settled after it, a refund today of last week's sale — so nothing falls between
   * two reports; and every payment still open, whatever day it began. An X is the same
   * look without the close.
   */
  private settlementScope(report: 'X' | 'Z'): SettlementScope {
    const tz = this.storeInfo().timeZone;
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
    const sales = this.db.unreportedSales();
    for (const s of sales) {
      const t = totals((s.channel ?? 'wechat') as ChannelName);
      t.count++;
      t.grossMinor += s.amount_minor;
      const d = day(s.paid_at ?? s.updated_at);
      d.count++;
      d.netMinor += s.amount_minor;
    }
    const refunds = this.db.unreportedRefunds();
    for (const r of refunds) {
      const t = totals((r.channel ?? 'wechat') as ChannelName);
      t.refundCount++;
      t.refundsMinor += r.amount_minor;
      day(r.updated_at).netMinor -= r.amount_minor;
    }
    for (const t of byChannel.values()) t.netMinor = t.grossMinor - t.refundsMinor;
    const open: OpenPayment[] = this.db
      .openSales()
      .filter((s) => s.out_trade_no)
      .map((s) => ({
        outTradeNo: s.out_trade_no!,
        channel: (s.channel ?? 'wechat') as ChannelName,
        amount: money(s.amount_minor, s.currency),
        status: s.status === 'unknown' ? 'unknown' : 'pending',
        createdAt: s.created_at,
      }));
    const previous = this.db.lastDayClose();
    const summary: SettlementSummary = {
      report,
      store: this.storeInfo(),
      storeDay: storeDay(new Date().toISOString(), tz),
      generatedAt: new Date().toISOString(),
      currency: CURRENCY,
      channels: [...byChannel.values()].sort((a, b) => a.channel.localeCompare(b.channel)),
      openPayments: open,
      channelDays: [...days.entries()].sort().map(([channelDay, d]) => ({ channelDay, ...d })),
      journalHead: this.db.journalHead(),
      ...(previous ? { periodStart: previous.generated_at } : {}),
    };
    return { summary, saleIds: sales.map((s) => s.id), refundNos: refunds.map((r) => r.out_refund_no) };
  }

  // ---- what the screens show ----

  private async qr(text: string | null): Promise<string | null> {
    if (!text) return null;
    let url = this.qrCache.get(text);
    if (!url) {
      url = await QRCode.toDataURL(text, { errorCorrectionLevel: 'M', margin: 2, scale: 8 });
      if (this.qrCache.size > 50) this.qrCache.clear();
      this.qrCache.set(text, url);
    }
    return url;
  }

  private view(s: SaleRow, qr: string | null = null): SaleView {
    const word = statusWord(s.status);
    const pendingRefunds = this.pendingRefunds(s.id);
    return {
      id: s.id,
      kind: s.kind,
      outTradeNo: s.out_trade_no,
      channel: s.channel,
      amountMinor: s.amount_minor,
      currency: s.currency,
      status: word,
      text: STATUS_TEXT[word],
      active: isActive(s.status),
      refundedMinor: s.refunded_minor,
      refundableMinor: isPaidFamily(s.status) ? Math.max(0, s.amount_minor - s.refunded_minor - pendingRefunds) : 0,
      cnyChargedMinor: s.cny_charged_minor,
      rate: s.rate,
      qr,
      url: s.checkout_url,
      expiresAt: s.expires_at,
      message: s.message,
      createdAt: s.created_at,
      updatedAt: s.updated_at,
      paidAt: s.paid_at,
    };
  }

  private refundCandidateView(): CounterState['refundCandidate'] {
    const c = this.refundCandidate;
    const sale = c ? this.db.sale(c.saleId) : undefined;
    return c && sale ? { ...this.view(sale), at: c.at } : null;
  }

  async snapshot(): Promise<CounterState> {
    const cur = this.currentSale();
    const today = this.todaySales();
    const paid = today.filter((s) => isPaidFamily(s.status));
    const gross = paid.reduce((a, s) => a + s.amount_minor, 0);
    const refunds = paid.reduce((a, s) => a + s.refunded_minor, 0);
    const store = this.store();
    return {
      terminalId: this.db.getSetting('terminal_id') ?? null,
      terminalName: this.db.getSetting('terminal_name') ?? null,
      store,
      connection: this.online ? 'ONLINE' : 'OFFLINE',
      linkError: this.linkError,
      outboxCount: this.db.outboxCount(),
      current: cur ? this.view(cur, cur.status === 'waiting' ? await this.qr(cur.checkout_url) : null) : null,
      fx: this.fx,
      staticQr: await this.qr(store?.staticCodeUrl ?? null),
      today: today.map((s) => this.view(s)),
      totals: { count: paid.length, grossMinor: gross, refundsMinor: refunds, netMinor: gross - refunds },
      devices: this.deviceHealth(),
      settlement: this.settlement,
      notice: this.notice,
      // A refusal a minute old is history, not news (and a reloaded screen should not shout it).
      scanError: this.scanError && Date.now() - Date.parse(this.scanError.at) < 60_000 ? this.scanError : null,
      refundCandidate: this.refundCandidateView(),
      now: new Date().toISOString(),
    };
  }
}

const REFUND_ZH: Record<RefundRow['status'], string> = {
  queued: '退款待发送',
  processing: '退款处理中',
  succeeded: '退款成功',
  failed: '退款失败',
};

function newSale(
  p: Partial<SaleRow> & Pick<SaleRow, 'id' | 'kind' | 'amount_minor' | 'currency' | 'status' | 'created_at'>,
): SaleRow {
  return {
    out_trade_no: null,
    checkout_id: null,
    checkout_url: null,
    channel: null,
    refunded_minor: 0,
    cny_charged_minor: null,
    rate: null,
    payment_id: null,
    channel_trade_no: null,
    message: null,
    expires_at: null,
    cancel_requested: 0,
    updated_at: p.created_at,
    paid_at: null,
    ...p,
  };
}

export function saleStatusOf(bridgeStatus: string): SaleStatus {
  switch (bridgeStatus) {
    case 'created':
    case 'pending':
      return 'pending';
    case 'paid':
      return 'paid';
    case 'partially_refunded':
      return 'partially_refunded';
    case 'refunded':
      return 'refunded';
    case 'closed':
    case 'reversed':
      return 'closed';
    case 'failed':
      return 'failed';
    default:
      return 'unknown';
  }
}

/** YYYY-MM-DD of an instant in the store's time zone. */
export function storeDay(iso: string, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(
    new Date(iso),
  );
}

/** The channels' statement day (UTC+8). */
export function channelDay(iso: string): string {
  return new Date(Date.parse(iso) + 8 * 3600_000).toISOString().slice(0, 10);
}
