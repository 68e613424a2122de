import type { SettlementSummary } from '../core/records.js';
import { ReceiptWriter } from '../drivers/escpos/writer.js';
import type { PrinterProfile } from './profiles.js';
import { CHANNEL_NAMES, channelDayStartInStore, formatMoney, formatStoreTime } from './format.js';

// The store manager's daily settlement: Z (closes the day) or X (a look mid-day).

export interface CloseCheck {
  ok: boolean;
  /** Why the day cannot be closed (English, Chinese). */
  reason?: { en: string; zh: string };
}

/** A day closes only when no payment's outcome is unknown. */
export function canCloseDay(summary: Pick<SettlementSummary, 'openPayments'>): CloseCheck {
  const unknown = summary.openPayments.filter((p) => p.status === 'unknown').length;
  if (unknown === 0) return { ok: true };
  return {
    ok: false,
    reason: {
      en: `${unknown} payment${unknown === 1 ? '' : 's'} with unknown outcome: day cannot be closed`,
      zh: `${unknown}笔支付状态未知，不能日结`,
    },
  };
}

export function settlementReport(s: SettlementSummary, profile: PrinterProfile): Uint8Array {
  const w = new ReceiptWriter(profile);
  const money = (minor: number) => formatMoney({ minor, currency: s.currency });
  const tz = s.store.timeZone;

  w.line(s.report === 'Z' ? 'Z-REPORT 日结' : 'X-REPORT 中途报表', { bold: true, size: 2, align: 'center' });
  if (s.report === 'X') w.line('Mid-day, day not closed 未日结', { align: 'center' });
  w.line(s.store.name, { bold: true, align: 'center' });
  if (s.store.nameZh) w.line(s.store.nameZh, { align: 'center' });
  w.rule();
  w.pair('Store day 营业日', s.storeDay, { bold: true });
  w.line(`(${tz})`, { align: 'right' });
  w.pair('Printed 打印', formatStoreTime(s.generatedAt, tz));
  if (s.periodStart) w.pair('Since last Z 自上次日结', formatStoreTime(s.periodStart, tz));
  if (s.store.terminalId) w.pair('Terminal 终端', s.store.terminalId);
  if (s.closeNumber !== undefined) w.pair('Close no. 日结号', String(s.closeNumber));
  if (s.printedBy) w.pair('Manager 店长', s.printedBy);
  w.rule('=');

  let count = 0;
  let gross = 0;
  let refunds = 0;
  let refundCount = 0;
  let net = 0;
  for (const c of s.channels) {
    const name = CHANNEL_NAMES[c.channel];
    w.line(`${name.en} ${name.zh}`, { bold: true });
    w.pair(`  Payments 收款 (${c.count})`, money(c.grossMinor));
    w.pair(`  Refunds 退款 (${c.refundCount})`, money(-c.refundsMinor));
    w.pair('  Net 净额', money(c.netMinor), { bold: true });
    count += c.count;
    gross += c.grossMinor;
    refunds += c.refundsMinor;
    refundCount += c.refundCount;
    net += c.netMinor;
  }
  if (s.channels.length === 0) w.line('No payments 无交易', { align: 'center' });
  w.rule('=');
  w.pair(`Payments 收款 (${count})`, money(gross));
  w.pair(`Refunds 退款 (${refundCount})`, money(-refunds));
  w.pair('NET 净额', money(net), { bold: true, size: 2 });
  w.rule();

  // The channels settle by their own day (UTC+8); NZ is ahead, so the first hours of
  // the store day belong to the previous statement.
  w.line('Channel statement day (UTC+8)', { bold: true });
  w.line('渠道对账日 (北京时间)', { bold: true });
  w.line(`Sales before ${channelDayStartInStore(s.storeDay, tz)} are on the previous day's statement.`);
  for (const d of s.channelDays) w.pair(`  ${d.channelDay} (${d.count})`, money(d.netMinor));
  w.rule();

  const open = s.openPayments;
  if (open.length > 0) {
    w.line(`!! OPEN PAYMENTS 未完成支付: ${open.length}`, { bold: true, invert: true });
    for (const p of open) {
      const label = p.status === 'unknown' ? 'UNKNOWN 未知' : 'PENDING 处理中';
      w.pair(`${label} ${CHANNEL_NAMES[p.channel].ascii}`, formatMoney(p.amount));
      w.line(`  ${p.outTradeNo} ${formatStoreTime(p.createdAt, tz)}`);
    }
    const check = canCloseDay(s);
    if (!check.ok && check.reason) {
      w.line(`!! ${check.reason.en}`, { bold: true });
      w.line(check.reason.zh, { bold: true });
    }
    w.rule();
  }

  w.line('Journal head 日志哈希链', { bold: true });
  w.pair('  Entry 序号', `#${s.journalHead.sequence}`);
  for (let i = 0; i < s.journalHead.hash.length; i += w.columns - 2) {
    w.line(`  ${s.journalHead.hash.slice(i, i + w.columns - 2)}`);
  }
  w.rule();
  w.line(s.report === 'Z' ? 'End of day 日结完成' : 'End of X-report', { align: 'center' });
  return w.cut().encode();
}
