import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import type { Locator, Page } from 'playwright-core';
import { freePort } from '../support/processes.js';

// jsqr is CommonJS with a `default` export: take whichever is callable.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as (data: Uint8ClampedArray, w: number, h: number) => { data: string } | null;

// Helpers of the counter's end-to-end tests: the simulators' control endpoints as
// `kauri start` runs them, the counter's loopback API, and reading a QR code the way a
// phone does: from the pixels on the customer screen.

export interface Endpoints {
  bridge: string; bridgeWs: string; cashier: string; customer: string;
  sims: { wechat: string; alipay: string; bank: string };
  demo: { merchantId: string; apiKey: string; storeCode: string; managerPin: string };
}

export function readEndpoints(data: string): Endpoints {
  return JSON.parse(readFileSync(join(data, 'endpoints.json'), 'utf8')) as Endpoints;
}

/** A port base whose +0…+10 are all free right now. */
export async function portBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = await freePort();
    const base = 20_000 + (p % 40_000);
    const free = await Promise.all(Array.from({ length: 11 }, (_, i) => portFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error('no free run of 11 ports');
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export { simControl } from '../support/sim-control.js';
import type { Sim } from '../support/sim-control.js';

/** A customer's payment code minted by a wallet simulator. */
export async function paymentCode(sim: Sim, behaviour = 'success'): Promise<string> {
  const r = await sim.control<{ auth_code: string }>('/sim/paycode', { behaviour });
  if (r.status !== 200) throw new Error(`paycode: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.auth_code;
}

/** Decodes the QR code shown in an element, from a screenshot of it. */
export async function readQr(el: Locator): Promise<string> {
  const png = PNG.sync.read(await el.screenshot());
  const code = jsQR(new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length), png.width, png.height);
  if (!code) throw new Error('no QR code found in the screenshot');
  return code.data;
}

/** The counter's loopback API (what the screens call). */
export async function counterAction(cashierUrl: string, action: string, body: unknown = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(new URL(`/api/${action}`, cashierUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

export async function counterState(cashierUrl: string): Promise<any> {
  return (await fetch(new URL('/api/state', cashierUrl))).json();
}

export async function waitFor<T>(fn: () => Promise<T>, until: (v: T) => boolean, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (until(last)) return last;
    } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 500)}`);
}

export async function textOf(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).first().textContent()) ?? '';
}
