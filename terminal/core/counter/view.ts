import QRCode from 'qrcode';
import type { Clock } from '../../../protocol/clock.js';
import type { SaleRow, TerminalDb } from '../db.js';
import { isActive, isPaidFamily, statusWord, STATUS_TEXT } from '../words.js';
import type { Ledger } from './ledger.js';
import type { CounterState, DeviceHealth, SaleView, ScreenState } from './types.js';

// What the screens show: the counter's state as one snapshot, each sale as the cashier
// and the customer read it, and the QR codes drawn once per URL.

export interface ViewDeps {
  db: TerminalDb;
  clock: Clock;
  ledger: Ledger;
  screen: ScreenState;
  online(): boolean;
  devices(): DeviceHealth[];
}

export class CounterView {
  private readonly qrCache = new Map<string, string>();

  constructor(private readonly d: ViewDeps) {}

  /** A QR code as a data URL (drawn once per text: a waiting sale is shown many times). */
  async qr(text: string | null): Promise<string | null> {
    if (!text) return null;
    let url = this.qrCache.get(text);
    if (!url) {
      // SVG, not PNG: drawing and deflating a PNG took most of the Charge → QR time, and a
      // vector code stays sharp at whatever size the customer screen gives it.
      const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
      url = `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
      if (this.qrCache.size > 50) this.qrCache.clear();
      this.qrCache.set(text, url);
    }
    return url;
  }

  sale(s: SaleRow, qr: string | null = null): SaleView {
    const word = statusWord(s.status);
    const paid = isPaidFamily(s.status);
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
      refundableMinor: paid ? Math.max(0, s.amount_minor - s.refunded_minor - this.d.ledger.pendingRefunds(s.id)) : 0,
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

  private refundCandidate(): CounterState['refundCandidate'] {
    const c = this.d.screen.refundCandidate;
    const sale = c ? this.d.db.sale(c.saleId) : undefined;
    return c && sale ? { ...this.sale(sale), at: c.at } : null;
  }

  async snapshot(): Promise<CounterState> {
    const { db, ledger, screen } = this.d;
    const cur = ledger.currentSale();
    const today = ledger.todaySales();
    const paid = today.filter((s) => isPaidFamily(s.status));
    const gross = paid.reduce((a, s) => a + s.amount_minor, 0);
    const refunds = paid.reduce((a, s) => a + s.refunded_minor, 0);
    const store = ledger.store();
    const now = this.d.clock.now();
    return {
      terminalId: db.getSetting('terminal_id') ?? null,
      terminalName: db.getSetting('terminal_name') ?? null,
      store,
      connection: this.d.online() ? 'ONLINE' : 'OFFLINE',
      linkError: screen.linkError,
      outboxCount: db.outboxCount(),
      current: cur ? this.sale(cur, cur.status === 'waiting' ? await this.qr(cur.checkout_url) : null) : null,
      fx: screen.fx,
      staticQr: await this.qr(store?.staticCodeUrl ?? null),
      today: today.map((s) => this.sale(s)),
      totals: { count: paid.length, grossMinor: gross, refundsMinor: refunds, netMinor: gross - refunds },
      devices: this.d.devices(),
      settlement: screen.settlement,
      notice: screen.notice,
      // A refusal a minute old is history, not news (and a reloaded screen should not shout it).
      scanError: screen.scanError && now.getTime() - Date.parse(screen.scanError.at) < 60_000 ? screen.scanError : null,
      refundCandidate: this.refundCandidate(),
      now: now.toISOString(),
    };
  }
}
