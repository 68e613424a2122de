import type { AlipayGateway } from './gateway.js';
import { formatMajor } from './money.js';
import { beijingDay, dashedTime, dayStart } from './time.js';

// The daily files Alipay drops on its SFTP server (docs/protocols/alipay.md, Files), built from the
// simulator's own ledger: the transaction file (in-store layout, with its info line)
// and the settlement file. Both are ready at 09:30 Beijing time on the next day.

const TX_HEADER =
  'Partner_transaction_id|Transaction_id|Transaction_amount|Charge_amount|Currency|Payment_time|Transaction_type|Remark|Secondary_merchant_industry|Secondary_merchant_name|Operator_name|Order_scene|Trans_currency|Trans_amount|Trans_forex_rate';
const SETTLE_HEADER =
  'Partner_transaction_id|Transaction_id|Amount|Rmb_amount|Fee|Settlement|Rmb_settlement|Currency|Rate|Payment_time|Settlement_time|Type|Status|Remarks|Trans_currency|Trans_amount|Trans_forex_rate';

export type FileKind = 'transaction' | 'settlement';

export function parseFileName(name: string): { partner: string; kind: FileKind; day: string } | undefined {
  const m = /^(2088\d{12})_(transaction|settlement)_(\d{8})\.txt$/.exec(name);
  return m && dayStart(m[3]!) !== undefined ? { partner: m[1]!, kind: m[2] as FileKind, day: m[3]! } : undefined;
}

/** The file, or why it is not there yet. */
export function dailyFile(
  gw: AlipayGateway,
  partner: string,
  kind: FileKind,
  day: string,
): { ok: true; body: string } | { ok: false; reason: string } {
  const start = dayStart(day)!;
  const readyAt = start + 86_400_000 + 9.5 * 3_600_000;
  if (gw.clock.nowMs() < readyAt)
    return { ok: false, reason: `the ${kind} file for ${day} is generated at 09:30 (GMT+8) the next day` };
  const rows = gw.ledger(partner).filter((e) => beijingDay(e.ms) === day);
  if (kind === 'transaction') {
    const lines = rows.map((e) =>
      [
        e.id,
        e.trade.trade_no,
        formatMajor(e.amount, e.currency),
        formatMajor(e.fee, e.currency).replace(/^-/, ''),
        e.currency,
        dashedTime(e.ms),
        e.kind === 'payment' ? 'PAYMENT' : e.kind === 'cancel' ? 'CANCEL' : 'REFUND',
        '',
        '5812',
        'Kauri Demo Shop',
        'kauri',
        e.trade.kind === 'web' ? 'online' : e.trade.kind === 'precreate' ? 'shopQrCode' : 'barCode',
        e.trade.trans_currency,
        formatMajor(e.amount, e.trade.trans_currency),
        '1',
      ].join('|'),
    );
    const info = `Partner:${partner}|Payment_time: ${day.slice(0, 4)}-${day.slice(4, 6)}-${day.slice(6)}|Total_count:${lines.length}`;
    return { ok: true, body: [info, TX_HEADER, ...lines].join('\n') + '\n' };
  }
  const lines = rows.map((e) => {
    const settle = e.amount - (e.kind === 'payment' ? e.fee : 0);
    return [
      e.id,
      e.trade.trade_no,
      formatMajor(e.amount, e.currency),
      formatMajor(e.cny, 'CNY'),
      formatMajor(Math.abs(e.fee), e.currency),
      formatMajor(settle, e.currency),
      formatMajor(e.cny, 'CNY'),
      e.currency,
      Number(e.trade.rate ?? '1').toFixed(8),
      dashedTime(e.kind === 'payment' ? e.ms : e.trade.paid_ms!),
      dashedTime(start + 86_400_000 + 10 * 3_600_000),
      e.kind === 'payment' ? 'P' : 'R',
      'L',
      e.kind === 'cancel' ? 'CANCEL' : '',
      e.trade.trans_currency,
      formatMajor(e.amount, e.trade.trans_currency),
      '1',
    ].join('|');
  });
  return { ok: true, body: [SETTLE_HEADER, ...lines].join('\n') + '\n' };
}
