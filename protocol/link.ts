import { z } from 'zod';
import { REFUND_STATUSES } from './payments.js';
import { PaymentViewSchema, RefundViewSchema } from './views.js';

// The terminal ⇄ bridge link: one WebSocket at `/terminal`, JSON text frames, each a
// message below. Every message carries `v` (the link version): a peer refuses a frame it
// cannot parse with a `link_error` rather than guessing. See protocol/README.md.

export const LINK_VERSION = 1;
/** The WebSocket subprotocol a terminal asks for; a bridge that cannot speak it refuses. */
export const LINK_SUBPROTOCOL = `kauri-link.v${LINK_VERSION}`;

const v = z.literal(LINK_VERSION);
const key = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'an idempotency key is 8–64 of A-Z a-z 0-9 _ -');
const minor = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);
const currency = z.string().regex(/^[A-Z]{3}$/);
const outTradeNo = z.string().regex(/^[A-Za-z0-9_-]{6,32}$/);
// PINs are 6–12 digits, but a counter not yet updated may still send 4 or 5:
// the wire takes them so that the bridge can answer such a counter with what to do
// (manager_pin_invalid, "ask HQ to set a new one") rather than a bare link error.
const managerPin = z.string().regex(/^\d{4,12}$/);

// ---- commands (terminal → bridge). Each is written to the terminal's outbox first. ----

export const CommandArgs = {
  /** A dynamic one-code checkout: the customer scans one QR with any wallet. */
  'checkout.create': z.object({
    amountMinor: minor,
    currency,
    expiresInS: z.number().int().min(30).max(3600).optional(),
  }),
  /** Stop a checkout that was not paid (the bridge closes its channel orders). */
  'checkout.cancel': z.object({ checkoutId: z.string().min(1).max(64) }),
  /** A customer-presented payment code the cashier scanned (WeChat micropay / Alipay spot). */
  'payment.scan': z.object({ outTradeNo, amountMinor: minor, currency, authCode: z.string().regex(/^\d{16,24}$/) }),
  /** Ask where a payment stands (the bridge answers with its view). */
  'payment.query': z.object({ outTradeNo }),
  /** Cancel that resolves safely: the bridge queries, then closes or reverses, or says it was paid. */
  'payment.cancel': z.object({ outTradeNo }),
  /** A full or partial refund, approved by the store's manager PIN. */
  'refund.create': z.object({
    outTradeNo,
    outRefundNo: outTradeNo,
    amountMinor: minor,
    managerPin,
    reason: z.string().max(200).optional(),
  }),
  /** Checks the store's manager PIN (closing the day): answers `verified`, or refuses as a refund's wrong PIN is refused. */
  'manager.verify': z.object({ managerPin, purpose: z.literal('day_close') }),
  /** CNY estimates per wallet for the customer screen. */
  'fx.estimate': z.object({ amountMinor: minor, currency }),
  /** The counter's devices, for HQ's view. */
  'device.health': z.object({
    devices: z
      .array(z.object({ kind: z.string().max(20), state: z.string().max(40), detail: z.string().max(200).optional() }))
      .max(10),
  }),
} as const;

export type CommandName = keyof typeof CommandArgs;
export type CommandArgsOf<N extends CommandName> = z.infer<(typeof CommandArgs)[N]>;
export const COMMAND_NAMES = Object.keys(CommandArgs) as CommandName[];

export const CommandMessage = z.object({
  v,
  type: z.literal('command'),
  key,
  name: z.enum(COMMAND_NAMES as [CommandName, ...CommandName[]]),
  args: z.unknown(),
});
export type CommandMessage = z.infer<typeof CommandMessage>;

export const HelloMessage = z.object({
  v,
  type: z.literal('hello'),
  /** The last event sequence this terminal applied; the bridge replays everything after it. */
  lastSeq: z.number().int().min(0),
  software: z.string().max(60).optional(),
});
/** The terminal has applied (and stored) every event up to `seq`. */
export const AckMessage = z.object({ v, type: z.literal('ack'), seq: z.number().int().min(0) });
export const PingMessage = z.object({ v, type: z.literal('ping'), at: z.number() });

export const TerminalMessage = z.discriminatedUnion('type', [HelloMessage, CommandMessage, AckMessage, PingMessage]);
export type TerminalMessage = z.infer<typeof TerminalMessage>;

// ---- bridge → terminal ----

export const StoreInfoSchema = z.object({
  id: z.string(),
  code: z.string(),
  name: z.string(),
  timezone: z.string(),
  currency: z.string(),
  merchantId: z.string(),
  merchantName: z.string(),
  staticCodeUrl: z.string().optional(),
});
export type LinkStoreInfo = z.infer<typeof StoreInfoSchema>;

export const WelcomeMessage = z.object({
  v,
  type: z.literal('welcome'),
  terminalId: z.string(),
  terminalName: z.string(),
  store: StoreInfoSchema,
  /** The newest event sequence when the replay started. */
  head: z.number().int().min(0),
});
export const LinkErrorBody = z.object({ code: z.string(), message: z.string(), zh: z.string().optional() });
export type LinkErrorBody = z.infer<typeof LinkErrorBody>;
export const ResultMessage = z.object({
  v,
  type: z.literal('result'),
  key,
  ok: z.boolean(),
  data: z.unknown().optional(),
  error: LinkErrorBody.optional(),
  /** True when the bridge had already done this command and answers from its record. */
  replayed: z.boolean().optional(),
});
export type ResultMessage = z.infer<typeof ResultMessage>;
export const EventMessage = z.object({
  v,
  type: z.literal('event'),
  seq: z.number().int().positive(),
  event: z.string(),
  at: z.string(),
  payload: z.unknown(),
});
export type EventMessage = z.infer<typeof EventMessage>;
export const PongMessage = z.object({ v, type: z.literal('pong'), at: z.number() });
/** Sent just before the bridge closes the link for good (revoked, unknown terminal). */
export const ByeMessage = z.object({ v, type: z.literal('bye'), error: LinkErrorBody });

export const BridgeMessage = z.discriminatedUnion('type', [
  WelcomeMessage,
  ResultMessage,
  EventMessage,
  PongMessage,
  ByeMessage,
]);
export type BridgeMessage = z.infer<typeof BridgeMessage>;

/** WebSocket close codes the link uses (4000–4999 are the application's). */
export const CLOSE = {
  /** Bad or missing credentials, or a revoked terminal: do not reconnect with the same ones. */
  unauthorised: 4401,
  revoked: 4403,
  /** A frame that did not parse: the peer speaks another version. */
  protocol: 4400,
  /** The peer stopped answering heartbeats. */
  silent: 4408,
} as const;

/** Parses one text frame from the bridge; undefined when it is not a valid message. */
export function parseBridgeMessage(text: string): BridgeMessage | undefined {
  try {
    const r = BridgeMessage.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export function parseTerminalMessage(text: string): TerminalMessage | undefined {
  try {
    const r = TerminalMessage.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

// ---- what a command answers, and what an event carries ----

/**
 * A payment as the link carries it: the merchant API's view, except that a counter does not
 * refuse an answer or an event for lacking the mode, which it never reads.
 */
const LinkPaymentView = PaymentViewSchema.partial({ mode: true });
export type LinkPaymentView = z.infer<typeof LinkPaymentView>;

const FxEstimateSchema = z.object({ cnyMinor: z.number().int(), rate: z.string(), rateTime: z.string() });
export type FxEstimate = z.infer<typeof FxEstimateSchema>;

/** The `data` of a successful `result`, per command. */
export const CommandResults = {
  'checkout.create': z.object({
    id: z.string(),
    token: z.string(),
    url: z.string(),
    status: z.string(),
    expiresAt: z.string(),
  }),
  'checkout.cancel': z.object({ id: z.string(), status: z.string() }),
  'payment.scan': LinkPaymentView,
  'payment.query': LinkPaymentView,
  'payment.cancel': LinkPaymentView,
  'refund.create': z.object({ refund: RefundViewSchema, payment: LinkPaymentView }),
  'manager.verify': z.object({ verified: z.literal(true) }),
  'fx.estimate': z.object({ wechat: FxEstimateSchema.nullable(), alipay: FxEstimateSchema.nullable() }),
  'device.health': z.object({ recorded: z.literal(true) }),
} as const satisfies Record<CommandName, z.ZodType>;
export type CommandResultOf<N extends CommandName> = z.infer<(typeof CommandResults)[N]>;

/** What a checkout event carries of its checkout (the merchant API's view, as much as a counter reads). */
const CheckoutEventView = z.object({
  id: z.string(),
  status: z.string(),
  kind: z.string().optional(),
  amount_minor: z.number().int().optional(),
  currency: z.string().optional(),
});
const CheckoutEventPayload = z.object({ checkout: CheckoutEventView, payment: LinkPaymentView.optional() });
/** A refund event: the refund as the bridge recorded it, and its payment after it. */
const RefundEventPayload = z.object({
  refund: z.object({
    id: z.string(),
    out_refund_no: z.string(),
    amount_minor: z.number().int(),
    currency: z.string(),
    status: z.enum(REFUND_STATUSES),
    automatic: z.boolean().optional(),
  }),
  payment: LinkPaymentView,
});

/** The events a counter hears of its store, and what each carries. Other events are passed over. */
export const EventPayloads = {
  'payment.paid': LinkPaymentView,
  'payment.failed': LinkPaymentView,
  'payment.closed': LinkPaymentView,
  'payment.reversed': LinkPaymentView,
  'checkout.paid': CheckoutEventPayload,
  'checkout.expired': CheckoutEventPayload,
  'checkout.cancelled': CheckoutEventPayload,
  'static_code.paid': CheckoutEventPayload,
  'refund.succeeded': RefundEventPayload,
  'refund.failed': RefundEventPayload,
} as const;
export type LinkEventName = keyof typeof EventPayloads;
export type EventPayloadOf<E extends LinkEventName> = z.infer<(typeof EventPayloads)[E]>;
/** An event with its payload typed by its name. */
export type LinkEvent = {
  [E in LinkEventName]: { event: E; seq: number; at: string; payload: EventPayloadOf<E> };
}[LinkEventName];

/** The typed event in a message; undefined for an event a counter does not read, or a payload of another shape. */
export function readEvent(msg: EventMessage): LinkEvent | undefined {
  if (!Object.hasOwn(EventPayloads, msg.event)) return undefined;
  const name = msg.event as LinkEventName;
  const r = EventPayloads[name].safeParse(msg.payload);
  return r.success ? ({ event: name, seq: msg.seq, at: msg.at, payload: r.data } as LinkEvent) : undefined;
}

/** The typed answer of a successful command; undefined when its data has another shape. */
export function readResult<N extends CommandName>(name: N, data: unknown): CommandResultOf<N> | undefined {
  const r = (CommandResults[name] as z.ZodType).safeParse(data);
  return r.success ? (r.data as CommandResultOf<N>) : undefined;
}

// ---- pairing (plain HTTP, before there is a link) ----

export const PairRequest = z.object({ code: z.string().min(6).max(40), name: z.string().min(1).max(60).optional() });
export const PairResponse = z.object({
  terminalId: z.string(),
  secret: z.string(),
  storeId: z.string(),
  merchantId: z.string(),
  name: z.string(),
});
export type PairResponse = z.infer<typeof PairResponse>;

/** The credential a terminal presents: `Authorization: Bearer <terminalId>.<secret>`. */
export function terminalAuthorization(terminalId: string, secret: string): string {
  return `Bearer ${terminalId}.${secret}`;
}

export function parseTerminalAuthorization(
  header: string | undefined,
): { terminalId: string; secret: string } | undefined {
  const m = /^Bearer (term_[A-Za-z0-9]{10,40})\.([A-Za-z0-9_-]{20,100})$/.exec(header ?? '');
  return m ? { terminalId: m[1]!, secret: m[2]! } : undefined;
}
