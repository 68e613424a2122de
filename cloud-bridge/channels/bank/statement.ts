import { hmacMd5 } from './sign.js';

// KAURI'S OWN ADAPTOR INTERFACE, not PayEase's: PayEase publishes no statement download
// (README.md, "What PayEase does not publish"). Kauri asks `POST <statementUrl>` with
// `v_mid`, `v_ymd` (China day) and `v_mac` = HMAC-MD5(key, v_mid + v_ymd), and reads
// 200 + the CSV of cloud-bridge/reconcile/BANK-STATEMENT.md, or 404 (not published yet).
// A deployer whose statements come otherwise (a back-office export, SFTP) replaces this module.

export interface StatementAnswer {
  status: number;
  body: Buffer;
}

/** The request form for China day `ymd` (yyyymmdd). */
export function statementRequest(vMid: string, key: string, ymd: string): Record<string, string> {
  return { v_mid: vMid, v_ymd: ymd, v_mac: hmacMd5(key, vMid + ymd) };
}

/** The answer read: ready (the CSV), not yet published, or an error to report. */
export function readStatementAnswer(
  a: StatementAnswer,
): { state: 'ready'; body: Buffer } | { state: 'not_ready'; reason: string } | { state: 'error'; reason: string } {
  if (a.status === 200) return { state: 'ready', body: a.body };
  if (a.status === 404) return { state: 'not_ready', reason: a.body.toString('utf8').trim() || 'not published yet' };
  return { state: 'error', reason: `The bank statement download answered HTTP ${a.status}` };
}
