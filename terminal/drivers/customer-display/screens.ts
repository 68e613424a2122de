import type { Money } from '../../core/records.js';
import { formatMoney } from '../../receipts/format.js';
import { toAscii } from './protocol.js';

// What the pole display says at each step of a sale: two lines of 20, ASCII.

export type DisplayLines = [string, string];

const W = 20;

function center(s: string): string {
  const t = toAscii(s).replace(/ {2,}/g, ' ').trim().slice(0, W);
  return ' '.repeat(Math.floor((W - t.length) / 2)) + t;
}

function pair(label: string, value: string): string {
  const v = toAscii(value);
  const l = toAscii(label).slice(0, Math.max(0, W - v.length - 1));
  return v.length >= W ? v.slice(0, W) : l + ' '.repeat(W - l.length - v.length) + v;
}

export function idleScreen(storeName: string, message = 'WeChat Pay / Alipay'): DisplayLines {
  return [center(storeName), center(message)];
}

export function amountScreen(amount: Money, cnyEstimate?: Money): DisplayLines {
  return [pair('TOTAL', formatMoney(amount)), cnyEstimate ? pair('approx', formatMoney(cnyEstimate)) : ''];
}

export function scanToPayScreen(amount: Money): DisplayLines {
  return [pair('TOTAL', formatMoney(amount)), center('Scan to pay')];
}

export function paidScreen(amount: Money): DisplayLines {
  return [pair('PAID', formatMoney(amount)), center('Thank you')];
}
