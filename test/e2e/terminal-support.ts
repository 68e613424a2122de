import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jsQRModule from 'jsqr';
import { PNG } from 'pngjs';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { portBase, spawnKauri, type KauriProcess } from '../support/processes.js';
import { CHROMIUM, CHROMIUM_ARGS } from './onecode-support.js';

// jsqr is CommonJS with a `default` export: take whichever is callable.
const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as (
  data: Uint8ClampedArray,
  w: number,
  h: number,
) => { data: string } | null;

// Helpers of the counter's end-to-end tests: the simulators' control endpoints as
// `kauri start` runs them, the counter's loopback API, and reading a QR code the way a
// phone does: from the pixels on the customer screen.

export interface Endpoints {
  bridge: string;
  bridgeWs: string;
  cashier: string;
  customer: string;
  sims: { wechat: string; alipay: string; bank: string };
  demo: { merchantId: string; apiKey: string; storeCode: string; managerPin: string };
}

export function readEndpoints(data: string): Endpoints {
  return JSON.parse(readFileSync(join(data, 'endpoints.json'), 'utf8')) as Endpoints;
}

import { simControl, type Sim } from '../support/sim-control.js';
export { simControl };

/** `kauri start` with the cashier's and the customer's screens open in Chromium, the counter online. */
export interface CounterScreens {
  data: string;
  kauri: KauriProcess;
  ep: Endpoints;
  browser: Browser;
  cashier: Page;
  customer: Page;
  wechat: Sim;
  alipay: Sim;
  stop(): Promise<void>;
}

export async function startCounterScreens(o: { timeScale: string }): Promise<CounterScreens> {
  const data = mkdtempSync(join(tmpdir(), 'kauri-counter-'));
  const kauri = await spawnKauri(['start', '--data', data, '--port-base', String(await portBase())], {
    ready: /Press Ctrl-C to stop/,
    timeoutMs: 90_000,
    env: { KAURI_TIME_SCALE: o.timeScale },
  });
  const ep = readEndpoints(data);
  const wechat = simControl('wechat', ep.sims.wechat, join(data, 'sims', 'wechat'));
  const alipay = simControl('alipay', ep.sims.alipay, join(data, 'sims', 'alipay'));
  // The two screens are two windows in front of people: no background-tab throttling.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      ...CHROMIUM_ARGS,
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
    ],
  });
  const screens = await browser.newContext({ viewport: { width: 1400, height: 860 }, locale: 'en-NZ' });
  const cashier = await screens.newPage();
  const customer = await screens.newPage();
  await cashier.goto(ep.cashier);
  await customer.goto(ep.customer);
  await waitFor(
    () => textOf(cashier, 'connection-status'),
    (t) => t === 'ONLINE',
    30_000,
    'the counter online',
  );
  return {
    data,
    kauri,
    ep,
    browser,
    cashier,
    customer,
    wechat,
    alipay,
    async stop() {
      await browser.close();
      await wechat.stop();
      await alipay.stop();
      await kauri.stop();
      rmSync(data, { recursive: true, force: true });
    },
  };
}

/** A customer's payment code minted by a wallet simulator. */
export async function paymentCode(sim: Sim, behaviour = 'success'): Promise<string> {
  const r = await sim.control<{ auth_code: string }>('/sim/paycode', { behaviour });
  if (r.status !== 200) throw new Error(`paycode: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.auth_code;
}

/** Decodes the QR code shown in an element, from a screenshot of it. */
export async function readQr(el: Locator): Promise<string> {
  const png = PNG.sync.read(await el.screenshot());
  const code = jsQR(
    new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length),
    png.width,
    png.height,
  );
  if (!code) throw new Error('no QR code found in the screenshot');
  return code.data;
}

/** The counter's loopback API (what the screens call). */
export async function counterAction(
  cashierUrl: string,
  action: string,
  body: unknown = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(new URL(`/api/${action}`, cashierUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}

export async function counterState(cashierUrl: string): Promise<any> {
  return (await fetch(new URL('/api/state', cashierUrl))).json();
}

export async function waitFor<T>(
  fn: () => Promise<T>,
  until: (v: T) => boolean,
  timeoutMs = 30_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    try {
      last = await fn();
      if (until(last)) return last;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)?.slice(0, 500)}`);
}

export async function textOf(page: Page, testId: string): Promise<string> {
  return (await page.getByTestId(testId).first().textContent()) ?? '';
}
