import { channelDay } from '../../../protocol/channel-day.js';
import { parseDecimal, type Money } from '../../../protocol/money.js';
import type { ChannelOutcome, RefundOutcome } from '../channel.js';
import { xmlText } from './xml.js';

// PayEase's words translated to Kauri's, as pure functions (README.md beside this file).
// The rule: only a verified "paid" in CNY with a readable amount is paid; anything the
// gateway says that Kauri cannot read is "unknown" (asked again, or a person looks at it).

/** `yyyymmdd` in China time (UTC+8, no daylight saving): the day in a v_oid. */
export function chinaYmd(d: Date): string {
  return channelDay(d).replace(/-/g, '');
}

/** A paid order as the gateway reports it: CNY (`v_moneytype` 0) only, yuan with two decimals. */
export function paidOutcome(
  oid: string,
  amount: string,
  moneytype: string,
  tradeNo: string,
  raw: unknown,
): ChannelOutcome {
  if (moneytype !== '0') {
    // Never a silent success: a non-CNY payment is a difference for a person to look at.
    return { state: 'unknown', reason: `the gateway reports ${oid} paid in v_moneytype ${moneytype}, not CNY`, raw };
  }
  let charged: Money;
  try {
    // Stryker disable next-line StringLiteral: the message is caught just below and never read
    if (!/^\d{1,12}\.\d{2}$/.test(amount)) throw new Error('format');
    charged = parseDecimal(amount, 'CNY');
  } catch {
    return { state: 'unknown', reason: `the gateway reports an unreadable amount "${amount}" for ${oid}`, raw };
  }
  return { state: 'paid', channelTradeNo: tradeNo, charged, raw };
}

export interface QueryReply {
  status: string;
  statusdesc: string;
  order?: {
    oid: string;
    pstatus: string;
    pstring: string;
    amount: string;
    moneytype: string;
    pmode: string;
    banktradeno: string;
    sign: string;
  };
}

/** The parts of an `ordermessage` document Kauri reads. */
export function readQueryReply(doc: Record<string, any>): QueryReply {
  const msg = doc.ordermessage ?? {};
  const o = msg.messagebody?.order?.[0];
  return {
    status: xmlText(msg.messagehead?.status),
    statusdesc: xmlText(msg.messagehead?.statusdesc),
    order: o
      ? {
          oid: xmlText(o.oid),
          pstatus: xmlText(o.pstatus),
          pstring: xmlText(o.pstring),
          amount: xmlText(o.amount),
          moneytype: xmlText(o.moneytype),
          pmode: xmlText(o.pmode),
          banktradeno: xmlText(o.banktradeno),
          sign: xmlText(o.sign),
        }
      : undefined,
  };
}

/** The RSA_MD5 source of an order query answer (published: oid + pstatus + amount + moneytype). */
export const querySignSource = (o: NonNullable<QueryReply['order']>): string =>
  o.oid + o.pstatus + o.amount + o.moneytype;

/** An order query answer → the order's state. `signOk` is the check of `sign` over querySignSource. */
export function queryOutcome(reply: QueryReply, channelOrderNo: string, signOk: boolean): ChannelOutcome {
  const { status, statusdesc: desc } = reply;
  // 2: the gateway has no such order: the customer never reached it (yet).
  if (status === '2') return { state: 'pending', raw: { status, desc } };
  if (status !== '0')
    return { state: 'unknown', reason: `order query status ${status} ${desc}`.trim(), raw: { status, desc } };
  const o = reply.order;
  if (!o) return { state: 'unknown', reason: 'order query reply has no order' };
  if (o.oid !== channelOrderNo)
    return { state: 'unknown', reason: `order query answered for another order (${o.oid})` };
  if (!signOk) return { state: 'unknown', reason: 'order query reply signature does not verify' };
  const raw = {
    oid: o.oid,
    pstatus: o.pstatus,
    amount: o.amount,
    moneytype: o.moneytype,
    pmode: o.pmode,
    banktradeno: o.banktradeno,
  };
  if (o.pstatus === '1') return paidOutcome(o.oid, o.amount, o.moneytype, o.banktradeno || o.oid, raw);
  // 2 unpaid; 3 refused by the bank: the customer may still try again until the order expires.
  if (o.pstatus === '2' || o.pstatus === '3') return { state: 'pending', raw };
  return { state: 'unknown', reason: `order query pstatus "${o.pstatus}" is not one Kauri knows`, raw };
}

export interface RefundReply {
  status: string;
  statusdesc: string;
  mid: string;
  oid: string;
  refamount: string;
  refoprt: string;
  refid: string;
  sign: string;
}

/** The document's one root element, whatever it is named (PayEase's root names are not all published). */
export function rootOf(doc: Record<string, any>): Record<string, any> {
  const roots = Object.values(doc).filter((v) => v && typeof v === 'object');
  return (roots[0] as Record<string, any> | undefined) ?? {};
}

/** The refund answer: its fields sit directly under the root, whose name no public source shows. */
export function readRefundReply(doc: Record<string, any>): RefundReply {
  const r = rootOf(doc);
  const f = (k: string) => xmlText(r[k]);
  return {
    status: f('status'),
    statusdesc: f('statusdesc'),
    mid: f('mid'),
    oid: f('oid'),
    refamount: f('refamount'),
    refoprt: f('refoprt'),
    refid: f('refid'),
    sign: f('sign'),
  };
}

/** The RSA_MD5 source of a refund answer (published: status + mid + oid + refamount + refoprt + refid). */
export const refundSignSource = (r: RefundReply): string =>
  r.status + r.mid + r.oid + r.refamount + r.refoprt + r.refid;

/** A refund answer → the refund's state. Only status 0 with a refund id is done; 9 (busy) and the unreadable are unknown. */
export function refundOutcome(r: RefundReply, signOk: boolean): RefundOutcome {
  if (!signOk) return { state: 'unknown', reason: 'refund reply signature does not verify' };
  const raw = { status: r.status, statusdesc: r.statusdesc, refid: r.refid, refamount: r.refamount };
  if (r.status === '0' && r.refid) return { state: 'succeeded', channelRefundId: r.refid, raw };
  if (r.status === '0' || r.status === '9' || r.status === '')
    return { state: 'unknown', reason: `refund status ${r.status} ${r.statusdesc}`.trim(), raw };
  return { state: 'failed', reason: `${r.statusdesc || 'refused'} (status ${r.status})`, raw };
}

/** A refund found in the order's refund list: `refstatus` 1 is done, anything else still processing. */
export function listedRefundOutcome(refid: string, refstatus: string, signOk: boolean): RefundOutcome {
  if (!signOk) return { state: 'unknown', reason: 'refund query signature does not verify' };
  return refstatus === '1'
    ? { state: 'succeeded', channelRefundId: refid }
    : { state: 'processing', channelRefundId: refid };
}

/** One order of a batched notify (v_pstatus 1 paid, 3 refused) → its outcome, or why it is refused. */
export function notifyOrderOutcome(
  g: { oid: string; pstatus: string; amount: string; moneytype: string; pmode: string },
  vMid: string,
): { outcome: ChannelOutcome } | { rejected: string } {
  if (!new RegExp(`^\\d{8}-${vMid}-[0-9A-Za-z]+$`).test(g.oid))
    return { rejected: `v_oid ${g.oid} is not an order of merchant ${vMid}` };
  if (g.moneytype !== '0') return { rejected: `v_moneytype ${g.moneytype} is not CNY` };
  if (!/^\d+\.\d{2}$/.test(g.amount)) return { rejected: `v_amount "${g.amount}" is not yuan with two decimals` };
  if (g.pstatus === '1') return { outcome: paidOutcome(g.oid, g.amount, g.moneytype, g.oid, g) };
  // 3: the bank refused; the customer may try again, and the order closes at expiry.
  if (g.pstatus === '3') return { outcome: { state: 'pending', raw: g } };
  return { rejected: `v_pstatus "${g.pstatus}" is neither 1 nor 3` };
}

/** The browser return's v_pstatus (20 paid, 30 failed, 1 submitted): what the page may say, never what is recorded. */
export function returnStatus(vPstatus: string | undefined): 'PAID' | 'FAILED' | 'PENDING' {
  return vPstatus === '20' ? 'PAID' : vPstatus === '30' ? 'FAILED' : 'PENDING';
}
