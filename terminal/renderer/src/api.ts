import { useEffect, useState } from 'react';
import { flushSync } from 'react-dom';

// The screens' only way to the counter: a state stream and a few actions. In Electron
// the preload exposes the same two calls (window.kauri); in a browser they go over HTTP.

export interface Fx {
  cnyMinor: number;
  rate: string;
  rateTime: string;
}
export interface Sale {
  id: string;
  kind: 'checkout' | 'scan' | 'static';
  outTradeNo: string | null;
  channel: string | null;
  amountMinor: number;
  currency: string;
  status: string;
  text: { cashier: [string, string]; customer: [string, string] };
  active: boolean;
  refundedMinor: number;
  refundableMinor: number;
  cnyChargedMinor: number | null;
  rate: string | null;
  qr: string | null;
  url: string | null;
  expiresAt: string | null;
  message: string | null;
  createdAt: string;
  updatedAt: string;
  paidAt: string | null;
}
export interface Settlement {
  report: string;
  storeDay: string;
  generatedAt: string;
  currency: string;
  channels: Array<{
    channel: string;
    count: number;
    grossMinor: number;
    refundCount: number;
    refundsMinor: number;
    netMinor: number;
  }>;
  openPayments: Array<{
    outTradeNo: string;
    channel: string;
    amount: { minor: number; currency: string };
    status: string;
  }>;
  channelDays: Array<{ channelDay: string; count: number; netMinor: number }>;
  journalHead: { sequence: number; hash: string };
  /** Z only: this terminal's close number. */
  closeNumber?: number;
  printedBy?: string;
  periodStart?: string;
  store?: { timeZone: string };
}
export interface State {
  terminalId: string | null;
  terminalName: string | null;
  store: { name: string; code: string; timezone: string; staticCodeUrl?: string; merchantName: string } | null;
  connection: 'ONLINE' | 'OFFLINE';
  linkError: { code: string; message: string } | null;
  outboxCount: number;
  current: Sale | null;
  fx: { amountMinor: number; wechat: Fx | null; alipay: Fx | null } | null;
  staticQr: string | null;
  today: Sale[];
  totals: { count: number; grossMinor: number; refundsMinor: number; netMinor: number };
  devices: Array<{ kind: string; state: string; detail?: string }>;
  settlement: Settlement | null;
  notice: { kind: 'info' | 'error'; en: string; zh: string; at: string } | null;
  scanError: { en: string; zh: string; at: string } | null;
  refundCandidate: (Sale & { at: string }) | null;
  now: string;
}
export interface ActionError {
  code: string;
  message: string;
  zh?: string;
}

interface Bridge {
  action(name: string, body: unknown): Promise<{ ok: boolean; data?: unknown; error?: ActionError }>;
  subscribe(cb: (s: State) => void): () => void;
}
declare global {
  interface Window {
    kauri?: Bridge;
  }
}

export async function act(
  name: string,
  body: unknown = {},
): Promise<{ ok: boolean; data?: unknown; error?: ActionError }> {
  if (window.kauri) return window.kauri.action(name, body);
  const res = await fetch(`/api/${name}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  return res.ok
    ? { ok: true, data }
    : { ok: false, error: data.error ?? { code: 'internal', message: `HTTP ${res.status}` } };
}

export function useCounterState(): { state: State | null; stale: boolean } {
  const [state, setState] = useState<State | null>(null);
  const [stale, setStale] = useState(false);
  useEffect(() => {
    // A new state is drawn in the task that brought it, not in one React schedules after:
    // on a busy machine each extra task is another wait before the QR or PAID is on screen.
    const show = (s: State) =>
      flushSync(() => {
        setState(s);
        setStale(false);
      });
    if (window.kauri) return window.kauri.subscribe(show);
    let es: EventSource | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;
    const open = () => {
      es = new EventSource('/api/stream');
      es.onmessage = (m) => show(JSON.parse(m.data) as State);
      es.onerror = () => {
        setStale(true);
        es?.close();
        retry = setTimeout(open, 1000);
      };
    };
    open();
    return () => {
      es?.close();
      clearTimeout(retry);
    };
  }, []);
  return { state, stale };
}

export const nzd = (minor: number, currency = 'NZD') => `${currency} ${(minor / 100).toFixed(2)}`;
export const cny = (minor: number) => `¥${(minor / 100).toFixed(2)}`;

export function secondsLeft(expiresAt: string | null, now: string): number | null {
  if (!expiresAt) return null;
  return Math.max(0, Math.round((Date.parse(expiresAt) - Date.parse(now)) / 1000));
}

export const CHANNEL_NAMES: Record<string, [string, string]> = {
  wechat: ['WeChat Pay', '微信支付'],
  alipay: ['Alipay', '支付宝'],
  bank: ['Online banking', '网银'],
};
