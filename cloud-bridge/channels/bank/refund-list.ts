import type { KeyObject } from 'node:crypto';
import { parseBankXml, xmlText } from './xml.js';
import { rootOf } from './outcomes.js';
import { rsaMd5Verify } from './sign.js';

// The refunds of one order (`ref_ack_oid_list_utf8.jsp`). The call and its fields are
// published (request v_mid, v_oid, v_version, v_mac = HMAC(v_mid + v_oid); answer
// refundmessage/messagebody/refund with refundindex, refid, refamount, refmoneytype, refdate,
// refstatus, reftype, refreason, sign), but WHICH FIELDS `sign` COVERS IS NOT: the string
// below is KAURI'S OWN ADAPTOR INTERFACE (the simulator signs the same). Confirm it with
// PayEase before production and change only refundEntrySignSource here.

export interface RefundEntry {
  refid: string;
  refamount: string;
  refstatus: string;
  refreason: string;
  sign: string;
}

/** UNCONFIRMED: oid + refid + refamount + refstatus. */
export function refundEntrySignSource(oid: string, e: RefundEntry): string {
  return oid + e.refid + e.refamount + e.refstatus;
}

export function verifyRefundEntry(publicKey: KeyObject, oid: string, e: RefundEntry): boolean {
  return rsaMd5Verify(publicKey, refundEntrySignSource(oid, e), e.sign);
}

/** The list, or undefined when the gateway did not answer status 0. */
export function readRefundList(body: Buffer): RefundEntry[] | undefined {
  // A captured list (the by-day one) has the root <ordermessage>; any root name is read.
  const m = rootOf(parseBankXml(body));
  if (xmlText(m.messagehead?.status) !== '0') return undefined;
  const list = (m.messagebody?.refund ?? []) as Array<Record<string, unknown>>;
  return list.map((r) => ({
    refid: xmlText(r.refid),
    refamount: xmlText(r.refamount),
    refstatus: xmlText(r.refstatus),
    refreason: xmlText(r.refreason),
    sign: xmlText(r.sign),
  }));
}
