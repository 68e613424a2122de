import type { ChannelName, PaymentMode } from '../../protocol/payments.js';
import type { Money } from '../../protocol/money.js';
import type { Clock } from '../../protocol/clock.js';
import type { Logger } from 'pino';

// The one interface every payment channel implements (docs/CONVENTIONS.md). Orders and the state
// machine talk only to this; a channel's quirks (XML, form posts, signatures, its own
// status words) stay inside its folder and are translated at this boundary.

/** A merchant's account on a channel: non-secret settings plus decrypted secrets. */
export interface ChannelAccount {
  readonly id: string;
  readonly merchantId: string;
  readonly channel: ChannelName;
  readonly config: Readonly<Record<string, unknown>>;
  readonly secrets: Readonly<Record<string, string>>;
  /** When HQ turned the account off (no new payments start on it); null or absent while on. */
  readonly disabledAt?: string | null;
}

/** What a channel needs from the bridge for one call. */
export interface ChannelContext {
  readonly account: ChannelAccount;
  readonly clock: Clock;
  readonly log: Logger;
  /** Absolute URL where this account's notifies arrive (`/notify/<channel>/<account id>`). */
  readonly notifyUrl: string;
  /** The bridge's public base URL, for return URLs and landing pages. */
  readonly publicBaseUrl: string;
  /** Keeps a raw channel message (the recorder redacts secrets). */
  record(message: {
    direction: 'request' | 'response' | 'notify' | 'reply';
    endpoint: string;
    body: string;
    httpStatus?: number;
    orderId?: string;
  }): Promise<void>;
}

export interface CreatePaymentRequest {
  readonly orderId: string;
  /** The bridge's own order number, sent to the channel (unique across merchants). */
  readonly channelOrderNo: string;
  readonly mode: PaymentMode;
  readonly amount: Money;
  /** What the customer pays in CNY (bank channel: the quoted amount). */
  readonly payAmount?: Money;
  readonly description: string;
  readonly authCode?: string;
  readonly openid?: string;
  readonly clientIp?: string;
  readonly returnUrl?: string;
  readonly expiresAt: Date;
  readonly createdAt: Date;
}

export interface OrderRef {
  readonly orderId: string;
  readonly channelOrderNo: string;
  readonly channelTradeNo?: string | null;
  readonly mode: PaymentMode;
  readonly amount: Money;
  /** What the customer paid (or was quoted) in CNY, when the channel charges in CNY (bank). */
  readonly payAmount?: Money;
  readonly createdAt: Date;
}

/** The channel's view of an order, translated to Kauri's words. */
export type ChannelOutcome =
  | {
      readonly state: 'pending';
      /** The channel is still asking the customer (USERPAYING, WAIT_BUYER_PAY…). */
      readonly userPaying?: boolean;
      readonly qrCode?: string;
      readonly redirectUrl?: string;
      /** A page the bridge serves (an auto-submitting form or a wallet's JS bridge call). */
      readonly page?: { readonly html: string };
      readonly jsapiParams?: Readonly<Record<string, string>>;
      readonly channelTradeNo?: string;
      readonly raw?: unknown;
    }
  | {
      readonly state: 'paid';
      readonly channelTradeNo: string;
      readonly paidAt?: Date;
      /** What the payer was charged, in the payer's currency (CNY), with the channel's rate. */
      readonly charged?: Money;
      readonly rate?: string;
      /** The amount the channel says was paid (checked against the order). */
      readonly amount?: Money;
      readonly raw?: unknown;
    }
  | { readonly state: 'closed' | 'reversed' | 'failed'; readonly reason: string; readonly raw?: unknown }
  /** The channel could not say (timeout, SYSTEMERROR, UNKNOW): ask again later, never assume. */
  | { readonly state: 'unknown'; readonly reason: string; readonly raw?: unknown };

export interface RefundRequest {
  readonly order: OrderRef;
  readonly channelRefundNo: string;
  readonly amount: Money;
  readonly reason?: string;
  /**
   * What this order's earlier refunds that have not failed add up to, in the order's currency.
   * A channel that converts (the bank, in CNY) rounds each part from the running total, so the
   * parts add up to exactly what was paid however the order is split.
   */
  readonly refundedBefore?: Money;
}

export type RefundOutcome =
  | { readonly state: 'succeeded' | 'processing'; readonly channelRefundId?: string; readonly raw?: unknown }
  | { readonly state: 'failed'; readonly reason: string; readonly raw?: unknown }
  | { readonly state: 'unknown'; readonly reason: string; readonly raw?: unknown }
  /**
   * Only from `queryRefund` of a channel without a refund key: its refund list lacks this
   * refund. The list may lag a send, so the bridge re-sends only once the last send is old.
   */
  | { readonly state: 'not_found'; readonly reason: string; readonly raw?: unknown };

export interface RawHttpRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly query: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

export interface HttpReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}

/** A verified notify: the outcomes it reports, and how to answer once they are applied. */
export interface VerifiedNotify {
  readonly outcomes: ReadonlyArray<{ readonly channelOrderNo: string; readonly outcome: ChannelOutcome }>;
  /** Per-order rejections inside a batch (the others still apply). */
  readonly rejected?: ReadonlyArray<{ readonly channelOrderNo?: string; readonly reason: string }>;
  /** Refund results the notify reports (by the bridge's channel refund number). */
  readonly refunds?: ReadonlyArray<{ readonly channelRefundNo: string; readonly outcome: RefundOutcome }>;
  readonly ack: HttpReply;
  /** The reply if applying the outcomes fails, so the channel retries. */
  readonly nack: HttpReply;
}

export interface NotifyRejection {
  readonly reason: string;
  readonly reply: HttpReply;
}

export type StatementResult =
  | { readonly state: 'ready'; readonly body: Buffer; readonly fileName: string; readonly contentType?: string }
  | { readonly state: 'not_ready'; readonly reason: string }
  | { readonly state: 'empty' };

export interface RateQuote {
  readonly currency: string; // foreign currency, e.g. NZD
  readonly cnyPerUnit: string; // decimal string
  readonly publishedAt: Date;
  readonly source: string;
}

export interface Channel {
  readonly name: ChannelName;
  readonly modes: readonly PaymentMode[];
  /** The order number the channel gets, when it needs its own shape (default: the bridge's id). */
  orderNumber?(orderId: string, createdAt: Date, account: ChannelAccount): string;
  create(ctx: ChannelContext, req: CreatePaymentRequest): Promise<ChannelOutcome>;
  query(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome>;
  /** Closes an unpaid order (QR, web); for presented codes, reverses (refunds if it was paid). */
  close(ctx: ChannelContext, ref: OrderRef): Promise<ChannelOutcome>;
  refund(ctx: ChannelContext, req: RefundRequest): Promise<RefundOutcome>;
  /** What the channel knows of a refund (a channel with a refund key may send a refund it lacks). */
  queryRefund?(ctx: ChannelContext, req: RefundRequest): Promise<RefundOutcome>;
  /**
   * For a channel without a refund key (a second send is a second refund): how long after a
   * send its refund list may still lack the refund. Set, the bridge queries before any
   * re-send and re-sends only a refund the list still lacks this long after the last send.
   */
  readonly refundListLagMs?: number;
  /** Verifies and parses a notify. Throws `NotifyRejectedError` for a forged or malformed one. */
  verifyNotify(ctx: ChannelContext, req: RawHttpRequest): Promise<VerifiedNotify>;
  fetchStatement?(ctx: ChannelContext, day: string): Promise<StatementResult>;
  fetchRates?(ctx: ChannelContext, currencies: readonly string[]): Promise<RateQuote[]>;
  /** Releases what the channel holds open (connection pools) when the bridge stops. */
  shutdown?(): Promise<void>;
  /** How a presented-code payment is settled when the first answer is not final. */
  readonly presentedCodePolicy?: { readonly pollEveryMs: number; readonly giveUpAfterMs: number };
  /** The same, when an account may tune it (takes precedence over `presentedCodePolicy`). */
  presentedCodePolicyFor?(account: ChannelAccount): { readonly pollEveryMs: number; readonly giveUpAfterMs: number };
  /** Refuses, before anything is stored, a payment this account cannot take (throws a KauriError). */
  validateCreate?(account: ChannelAccount, req: { readonly mode: PaymentMode; readonly amount: Money }): void;
}

export class NotifyRejectedError extends Error {
  constructor(
    readonly reason: string,
    readonly reply: HttpReply,
  ) {
    super(reason);
    this.name = 'NotifyRejectedError';
  }
}

/** Channels by name; a channel not registered answers `channel_unavailable`. */
export class ChannelRegistry {
  private readonly channels = new Map<ChannelName, Channel>();
  register(channel: Channel): this {
    this.channels.set(channel.name, channel);
    return this;
  }
  get(name: ChannelName): Channel | undefined {
    return this.channels.get(name);
  }
  names(): ChannelName[] {
    return [...this.channels.keys()];
  }
  async shutdown(): Promise<void> {
    await Promise.allSettled([...this.channels.values()].map((c) => c.shutdown?.()));
  }
}
