import { EventEmitter } from 'node:events';
import { ERRORS, KauriError, type ErrorCode } from '../../protocol/errors.js';
import { newId } from '../../protocol/ids.js';
import { readResult, type CommandArgsOf, type CommandName, type EventMessage } from '../../protocol/link.js';
import { money, parseDecimal, type Money } from '../../protocol/money.js';
import { TerminalDb, type SaleRow } from './db.js';
import { LinkClient } from './link-client.js';
import { ScanFilter } from './scan.js';
import { isActive, isPaidFamily, statusWord } from './words.js';
import { EventApplier } from './counter/events.js';
import { Ledger, newSale } from './counter/ledger.js';
import { Outbox } from './counter/outbox.js';
import { checkPinShape, Settlement } from './counter/settlement.js';
import {
  quietScreen,
  type CounterOptions,
  type CounterState,
  type DeviceHealth,
  type SaleView,
} from './counter/types.js';
import { CounterView } from './counter/view.js';
import type { SettlementSummary } from './records.js';
import { HOW_TO_PAIR } from './pairing-code.js';

// What the cashier does, as plain Node: the screens (Electron windows or the headless
// HTTP server) only show `snapshot()` and call these actions. The work is in the parts
// beside this file: the outbox (commands and their answers), the event appliers, the
// ledger (sales and refunds as the bridge reports them), the settlement (X and Z) and
// the view (what the screens read). Every command is written to SQLite with its
// idempotency key before it is sent; every event is applied with its sequence in one
// transaction: killing the process at any moment loses nothing and repeats nothing.

export { pairTerminal } from './counter/pairing.js';
export { saleStatusOf, storeDay } from './counter/ledger.js';
export { channelDay } from '../../protocol/channel-day.js';
export type {
  CounterDevices,
  CounterOptions,
  CounterState,
  DeviceHealth,
  FxEstimate,
  SaleView,
} from './counter/types.js';

export class Counter extends EventEmitter {
  readonly db: TerminalDb;
  private link?: LinkClient;
  private readonly scans: ScanFilter;
  private readonly screen = quietScreen();
  private readonly ledger: Ledger;
  private readonly outbox: Outbox;
  private readonly events: EventApplier;
  private readonly settlement: Settlement;
  private readonly view: CounterView;
  private keyedAmount = '';
  private closed = false;
  private shown = '';
  private reportedHealth = '';

  constructor(private readonly o: CounterOptions) {
    super();
    const db = (this.db = new TerminalDb(o.dataDir));
    const clock = o.clock;
    this.scans = new ScanFilter(o.scanWindowMs ?? 5000, () => clock.now().getTime());
    const ledger = (this.ledger = new Ledger(db, clock, o.devices));
    const screen = this.screen;
    const link = () => this.link;
    const changed = () => this.changed();
    this.outbox = new Outbox({ db, clock, log: o.log, ledger, screen, link, changed, closed: () => this.closed });
    this.events = new EventApplier({ db, clock, ledger, screen, link, changed });
    this.settlement = new Settlement({
      db,
      clock,
      ledger,
      devices: o.devices,
      ask: (managerPin) => this.outbox.ask('manager.verify', { managerPin, purpose: 'day_close' }),
      online: () => this.online,
      linkError: () => screen.linkError,
    });
    this.view = new CounterView({
      db,
      clock,
      ledger,
      screen,
      online: () => this.online,
      devices: () => this.deviceHealth(),
    });
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
    if (!terminalId || !secret) throw new KauriError('unauthenticated', `This terminal is not paired: ${HOW_TO_PAIR}`);
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
            this.screen.linkError = null;
            this.outbox.flush();
            this.reportHealth();
          }
          this.changed();
        },
        event: (m) => this.onEvent(m),
        result: (m) => this.outbox.onResult(m),
        fatal: (e) => {
          this.screen.linkError = e;
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

  snapshot(): Promise<CounterState> {
    return this.view.snapshot();
  }

  private now(): string {
    return this.o.clock.now().toISOString();
  }

  private onEvent(msg: EventMessage): void {
    this.events.onEvent(msg);
  }

  private changed(): void {
    this.emit('change');
    const show = this.o.devices?.showSale;
    if (!show) return;
    const cur = this.ledger.currentSale();
    const fx = this.screen.fx;
    const sale = cur
      ? {
          amountMinor: cur.amount_minor,
          currency: cur.currency,
          status: statusWord(cur.status),
          cnyMinor: fx?.amountMinor === cur.amount_minor ? fx.wechat?.cnyMinor : undefined,
        }
      : null;
    const key = JSON.stringify(sale);
    if (key === this.shown) return;
    this.shown = key;
    show(sale, this.ledger.storeInfo().name);
  }

  // ---- the cashier's actions ----

  charge(amountText: string): SaleView {
    const amount = this.parseAmount(amountText);
    this.mustStartPayment();
    const sale = newSale({
      id: newId('sale'),
      kind: 'checkout',
      amount_minor: amount.minor,
      currency: amount.currency,
      status: 'creating',
      created_at: this.now(),
    });
    return this.startSale(sale, 'checkout.create', { amountMinor: amount.minor, currency: amount.currency }, amount);
  }

  /**
   * A new sale and its command to the bridge, in one transaction (the outbox has it before
   * it is sent), then sent; the commit's fsync runs while the bridge already works on the
   * command, and completes before the screen or the cashier hears of the sale.
   */
  private startSale<N extends CommandName>(sale: SaleRow, name: N, args: CommandArgsOf<N>, amount: Money): SaleView {
    const key = newId();
    const db = this.db;
    db.txThen(
      () => {
        db.insertSale(sale);
        db.enqueue(key, name, args, sale.id);
        db.setSetting('current_sale', sale.id);
        db.journal('sale.started', {
          id: sale.id,
          kind: sale.kind,
          outTradeNo: sale.out_trade_no ?? undefined,
          channel: sale.channel ?? undefined,
          amountMinor: sale.amount_minor,
          currency: sale.currency,
        });
      },
      () => this.outbox.send(key),
    );
    this.screen.scanError = null;
    this.screen.settlement = null;
    this.estimate(amount);
    this.changed();
    return this.view.sale(db.sale(sale.id)!);
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
      this.screen.scanError = { en: verdict.message, zh: verdict.zh, at: this.now() };
      this.changed();
      throw new KauriError(verdict.reason === 'duplicate' ? 'scan_duplicate' : 'auth_code_invalid', verdict.message);
    }
    let amount: Money;
    try {
      amount = this.parseAmount(amountText);
      this.mustStartPayment();
    } catch (err) {
      const e = err as KauriError;
      this.screen.scanError = { en: e.message, zh: e.zh ?? '', at: this.now() };
      this.changed();
      throw err;
    }
    this.scans.took(verdict.code);
    // The amount keyed is spent on this customer: a serial scanner's next code (the next
    // customer's) is charged only for an amount keyed for it.
    this.keyedAmount = '';
    const outTradeNo = `K${newId()}`;
    const sale = newSale({
      id: newId('sale'),
      kind: 'scan',
      out_trade_no: outTradeNo,
      channel: verdict.channel,
      amount_minor: amount.minor,
      currency: amount.currency,
      status: 'pending',
      created_at: this.now(),
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
    const sale = this.ledger.currentSale();
    if (!sale || !isActive(sale.status)) return sale ? this.view.sale(sale) : null;
    const key = newId();
    const db = this.db;
    db.tx(() => {
      if (sale.kind === 'checkout') {
        if (sale.checkout_id) db.enqueue(key, 'checkout.cancel', { checkoutId: sale.checkout_id }, sale.id);
        db.updateSale(sale.id, { cancel_requested: 1 });
      } else if (sale.out_trade_no) {
        db.enqueue(key, 'payment.cancel', { outTradeNo: sale.out_trade_no }, sale.id);
        db.updateSale(sale.id, { cancel_requested: 1 });
      }
      db.journal('sale.cancel_requested', { id: sale.id });
    });
    this.outbox.send(key);
    this.changed();
    return this.view.sale(db.sale(sale.id)!);
  }

  /** A refund of a paid sale (by sale id or the order number on its receipt), full when no amount is given. */
  async refund(
    ref: string,
    amountText: string,
    managerPin: string,
    reason?: string,
  ): Promise<{ outRefundNo: string; status: string }> {
    const db = this.db;
    const sale = db.sale(ref) ?? db.saleBy('out_trade_no', ref.trim());
    if (!sale || !sale.out_trade_no || !isPaidFamily(sale.status))
      throw new KauriError('order_not_refundable', 'Pick a paid sale to refund');
    const remaining = sale.amount_minor - sale.refunded_minor - this.ledger.pendingRefunds(sale.id);
    const amount = amountText.trim() ? this.parseAmount(amountText) : money(remaining, sale.currency);
    if (amount.minor <= 0 || amount.minor > remaining)
      throw new KauriError(
        'refund_exceeds_remainder',
        `At most ${(remaining / 100).toFixed(2)} ${sale.currency} can be refunded`,
      );
    checkPinShape(managerPin);
    const outRefundNo = `R${newId()}`;
    const key = newId();
    const now = this.now();
    db.tx(() => {
      db.insertRefund({
        out_refund_no: outRefundNo,
        sale_id: sale.id,
        amount_minor: amount.minor,
        currency: sale.currency,
        status: 'queued',
        message: null,
        created_at: now,
        updated_at: now,
      });
      db.enqueue(
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
      db.journal('refund.requested', { outRefundNo, outTradeNo: sale.out_trade_no, amountMinor: amount.minor });
    });
    this.screen.refundCandidate = null;
    this.changed();
    if (!this.online) return { outRefundNo, status: 'queued' };
    // Online, the cashier waits for the bridge's word (a wrong PIN is said at once);
    // should it be slow, the refund stays queued and its answer arrives later.
    const answer = this.outbox.answer(key, this.o.clock.duration(10_000));
    this.outbox.send(key);
    const m = await answer;
    if (!m) return { outRefundNo, status: 'queued' };
    if (!m.ok)
      throw new KauriError((m.error!.code in ERRORS ? m.error!.code : 'internal') as ErrorCode, m.error!.message);
    return { outRefundNo, status: db.refund(outRefundNo)?.status ?? 'processing' };
  }

  /** What the cashier has keyed so far: a serial scanner's code is charged for this amount. */
  setKeyedAmount(text: string): void {
    // Keying a new amount is moving on: the last refused scan is no longer the news.
    if (text !== this.keyedAmount && this.screen.scanError) {
      this.screen.scanError = null;
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
    const view = this.view.sale(sale);
    const at = this.now();
    const screen = this.screen;
    screen.scanError = null;
    if (view.refundableMinor > 0) {
      screen.refundCandidate = { saleId: sale.id, at };
      const left = (view.refundableMinor / 100).toFixed(2);
      screen.notice = {
        kind: 'info',
        at,
        en: `Receipt ${sale.out_trade_no}: up to ${left} ${sale.currency} can be refunded. Key the amount (blank = all) and the manager PIN.`,
        zh: `小票 ${sale.out_trade_no}：最多可退 ${left} ${sale.currency}。请输入金额（留空=全额）和店长密码。`,
      };
    } else {
      screen.refundCandidate = null;
      screen.scanError = {
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
    this.screen.scanError = { en, zh: '付款码无效', at: this.now() };
    this.changed();
  }

  dismiss(): void {
    const sale = this.ledger.currentSale();
    if (sale && isActive(sale.status))
      throw new KauriError('payment_in_progress', 'Finish or cancel the current payment first');
    this.db.setSetting('current_sale', '');
    this.screen.settlement = null;
    this.screen.notice = null;
    this.changed();
  }

  buildSettlement(report: 'X' | 'Z'): SettlementSummary {
    return this.settlement.build(report);
  }

  /** The X report (a mid-day look that closes nothing) of the store day. */
  settlementReport(): SettlementSummary {
    const summary = this.settlement.x();
    this.screen.settlement = summary;
    this.changed();
    return summary;
  }

  /** The Z-report: closes the store day once, with the manager PIN the bridge checks (see Settlement.z). */
  async closeDay(managerPin: string): Promise<SettlementSummary> {
    const z = await this.settlement.z(managerPin);
    this.screen.settlement = z;
    this.changed();
    return z;
  }

  private parseAmount(text: string): Money {
    let amount: Money;
    try {
      amount = parseDecimal(text.trim(), this.ledger.currency());
    } catch {
      throw new KauriError('invalid_amount', `"${text}" is not an amount: key it like 12.50`);
    }
    if (amount.minor <= 0) throw new KauriError('invalid_amount', 'Key an amount above zero');
    if (amount.minor > 10_000_000)
      throw new KauriError('amount_overflow', 'That is more than a counter may charge at once');
    return amount;
  }

  private mustStartPayment(): void {
    const linkError = this.screen.linkError;
    if (linkError) throw new KauriError('terminal_revoked', `The bridge refused this terminal: ${linkError.message}`);
    // A new payment needs the channel now: offline, say so plainly rather than queue it.
    if (!this.online) throw new KauriError('terminal_offline');
    const cur = this.ledger.currentSale();
    if (cur && isActive(cur.status))
      throw new KauriError('payment_in_progress', 'Finish or cancel the current payment first');
  }

  /** Asks the bridge for the CNY each wallet would charge, for the customer screen. */
  private estimate(amount: Money): void {
    const screen = this.screen;
    screen.fx = { amountMinor: amount.minor, wechat: null, alipay: null };
    this.outbox.sendEphemeral('fx.estimate', { amountMinor: amount.minor, currency: amount.currency }, (r) => {
      const d = r.ok ? readResult('fx.estimate', r.data) : undefined;
      if (!d || screen.fx?.amountMinor !== amount.minor) return;
      screen.fx = { amountMinor: amount.minor, wechat: d.wechat ?? null, alipay: d.alipay ?? null };
      this.changed();
    });
  }

  // ---- devices ----

  /** A device's state changed (paper out, unplugged, back): the screen and the bridge hear of it. */
  devicesChanged(): void {
    this.emit('change');
    if (this.online && JSON.stringify(this.deviceHealth()) !== this.reportedHealth) this.reportHealth();
  }

  private reportHealth(): void {
    const devices = this.deviceHealth();
    this.reportedHealth = JSON.stringify(devices);
    this.outbox.sendEphemeral('device.health', { devices }, () => undefined);
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
}
