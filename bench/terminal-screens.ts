// The counter as a cashier feels it, against `kauri start` in Chromium. Writes the
// "Terminal screens" section of BENCHMARKS.md.
//   node --import tsx bench/terminal-screens.ts        (KAURI_BENCH_RUNS=n sales, default 100;
//   KAURI_BENCH_RAW=file.json also writes every sale's figures)
//
// Timed inside the pages, as the people in front of them see it (the test driver's own
// round trips are not the counter's):
// - Charge → QR: the click on charge-button as the cashier page receives it, until the
//   customer page's DOM holds the new customer-qr.
// - Alipay notify → PAID: from the simulator's /sim/pay answer (the notify goes out then)
//   until the cashier page's payment-status says PAID.
// Both pages and this process read the same wall clock (performance.timeOrigin + now()).
// The customer pays as a phone does: the one-code URL opened with Alipay's User-Agent is
// sent on to Alipay's QR, which the wallet then pays.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { spawnKauri, type KauriProcess } from '../test/support/processes.js';
import { portBase } from '../test/support/processes.js';
import { readEndpoints, simControl } from '../test/e2e/terminal-support.js';
import { CHROMIUM, CHROMIUM_ARGS, UA } from '../test/e2e/onecode-support.js';
import { writeSection } from './section.js';

// The in-page marks are plain JavaScript in strings: a function handed to addInitScript is
// sent as its source text, and tsx compiles this file keeping function names, which wraps a
// named arrow in a `__name(…)` helper the page does not have. The page would then throw
// before installing its listeners and record nothing.
// Each page also keeps `__when(name, n)`: a promise for the (n+1)th mark of that name, so
// the driver waits without polling (Playwright's waitForFunction would run its check on
// every animation frame in the very page being timed, on a machine short of CPU).
const WAITERS = `
  const waiting = [];
  window.__mark = (name) => {
    window[name].push(performance.timeOrigin + performance.now());
    for (const w of waiting.splice(0)) if (window[w.name].length > w.n) w.resolve(); else waiting.push(w);
  };
  window.__when = (name, n) => new Promise((resolve) => {
    if (window[name].length > n) resolve(); else waiting.push({ name, n, resolve });
  });`;
const CASHIER_MARKS = `(() => {
  window.__charged = [];
  window.__paid = [];${WAITERS}
  addEventListener('click', (e) => {
    if (e.target.closest('[data-testid="charge-button"]')) window.__mark('__charged');
  }, true);
  let was = '';
  new MutationObserver(() => {
    const t = document.querySelector('[data-testid="payment-status"]')?.textContent ?? '';
    if (t.includes('PAID') && !was.includes('PAID')) window.__mark('__paid');
    was = t;
  }).observe(document, { subtree: true, childList: true, characterData: true });
})();`;
const CUSTOMER_MARKS = `(() => {
  window.__qr = [];${WAITERS}
  let last = '';
  new MutationObserver(() => {
    const src = document.querySelector('[data-testid="customer-qr"]')?.getAttribute('src') ?? '';
    if (src && src !== last) window.__mark('__qr');
    last = src;
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['src'] });
})();`;

const RUNS = Number(process.env.KAURI_BENCH_RUNS ?? 100);

type Mark = '__charged' | '__paid' | '__qr';

/** Resolves once the page holds more than `n` marks of `name`. */
async function when(page: Page, name: Mark, n: number, timeoutMs = 30_000): Promise<void> {
  await Promise.race([
    page.evaluate(([m, k]) => (window as unknown as { __when(m: string, k: number): Promise<void> }).__when(m, k), [
      name,
      n,
    ] as const),
    new Promise((_, reject) =>
      setTimeout(() => reject(new Error(`no ${name} mark ${n + 1} within ${timeoutMs} ms`)), timeoutMs).unref(),
    ),
  ]);
}

async function marks(page: Page, name: Mark): Promise<number[]> {
  const list = await page.evaluate((n) => (window as unknown as Record<string, number[] | undefined>)[n], name);
  if (!Array.isArray(list)) throw new Error(`the page has no ${name} marks: its init script did not run`);
  return list;
}

async function measure(): Promise<{ first: { qr: number; paid: number }; toQr: number[]; toPaid: number[] }> {
  const data = mkdtempSync(join(tmpdir(), 'kauri-bench-screens-'));
  let kauri: KauriProcess | undefined;
  let browser: Browser | undefined;
  try {
    kauri = await spawnKauri(['start', '--data', data, '--port-base', String(await portBase())], {
      ready: /Press Ctrl-C to stop/,
      timeoutMs: 120_000,
    });
    const ep = readEndpoints(data);
    const alipay = simControl('alipay', ep.sims.alipay, join(data, 'sims', 'alipay'));
    // Two screens of one counter are two windows, both in front: keep Chromium from
    // throttling the one that is not focused (a background tab gets its timers slowed).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        ...CHROMIUM_ARGS,
        '--disable-background-timer-throttling',
        '--disable-renderer-backgrounding',
        '--disable-backgrounding-occluded-windows',
      ],
    });
    const cashier = await (await browser.newContext({ viewport: { width: 1400, height: 860 } })).newPage();
    const customer = await (await browser.newContext({ viewport: { width: 1400, height: 860 } })).newPage();
    const pageErrors: string[] = [];
    for (const [name, page, script] of [
      ['cashier', cashier, CASHIER_MARKS],
      ['customer', customer, CUSTOMER_MARKS],
    ] as const) {
      page.on('pageerror', (e) => pageErrors.push(`${name}: ${e.message}`));
      await page.addInitScript({ content: script });
    }
    await cashier.goto(ep.cashier);
    await customer.goto(ep.customer);
    await cashier.getByTestId('connection-status').filter({ hasText: 'ONLINE' }).waitFor({ timeout: 30_000 });

    const toQr: number[] = [];
    const toPaid: number[] = [];
    // Sale 0 is the first after start-up (code not yet compiled, first checkout and channel
    // call, first QR drawn): reported on its own, the RUNS after it make the percentiles.
    for (let i = 0; i <= RUNS; i++) {
      if (await cashier.getByTestId('done-button').isVisible()) await cashier.getByTestId('done-button').click();
      await cashier.getByTestId('amount-input').fill(`${10 + (i % 50)}.50`);
      await cashier.getByTestId('charge-button').click();
      await when(customer, '__qr', i);
      const clicked = await marks(cashier, '__charged');
      const shown = await marks(customer, '__qr');
      if (clicked.length !== i + 1)
        throw new Error(`the cashier page saw ${clicked.length} clicks on Charge, not ${i + 1}`);
      toQr.push(shown.at(-1)! - clicked.at(-1)!);

      const st = (await (await fetch(new URL('/api/state', ep.cashier))).json()) as { current?: { url?: string } };
      if (!st.current?.url) throw new Error(`no one-code URL on the counter: ${JSON.stringify(st.current)}`);
      const landing = await fetch(st.current.url, { headers: { 'user-agent': UA.alipay }, redirect: 'manual' });
      const qr = landing.headers.get('location');
      if (landing.status !== 302 || !qr) throw new Error(`the one-code page did not send Alipay on: ${landing.status}`);
      const paid = await alipay.control('/sim/pay', { qr_code: qr });
      if (paid.status !== 200) throw new Error(`/sim/pay: ${paid.status} ${JSON.stringify(paid.body)}`);
      const t1 = performance.timeOrigin + performance.now();
      await when(cashier, '__paid', i);
      toPaid.push((await marks(cashier, '__paid')).at(-1)! - t1);
    }
    if (pageErrors.length) throw new Error(`errors in the pages: ${pageErrors.join('; ')}`);
    await alipay.stop();
    return { first: { qr: toQr.shift()!, paid: toPaid.shift()! }, toQr, toPaid };
  } finally {
    await browser?.close();
    await kauri?.stop();
    rmSync(data, { recursive: true, force: true });
  }
}

const load0 = loadavg()[0]!;
const started = new Date();
const { first, toQr, toPaid } = await measure();
const load1 = loadavg()[0]!;
// Every sale's figures, for looking at the tail (which sales, how far apart) beyond p99.
if (process.env.KAURI_BENCH_RAW) writeFileSync(process.env.KAURI_BENCH_RAW, JSON.stringify({ first, toQr, toPaid }));

const stats = (l: number[]) => {
  const s = [...l].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!.toFixed(0);
  return `p50 ${q(50)} ms · p99 ${q(99)} ms · max ${s[s.length - 1]!.toFixed(0)} ms`;
};
const section = `<!-- terminal-screens:start -->
## Terminal screens

Run: \`node --import tsx bench/terminal-screens.ts\` · ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC · ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, node ${process.version}; load average ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end. \`kauri start\` (time scale 1), the cashier and customer screens in headless Chromium, ${RUNS} sales after a first one (reported on its own), timed inside the pages; the machine is shared with other work.

| what | result |
|---|---|
| Charge → QR on the customer screen (the click as the cashier page sees it until the customer page's DOM holds \`customer-qr\`: command through the outbox, checkout created, answer applied, state stream, QR drawn) | ${stats(toQr)} |
| Alipay notify → PAID on the cashier screen (from \`/sim/pay\` answered until the cashier page's \`payment-status\` says PAID: notify verified and applied, event log, link, counter SQLite, state stream) | ${stats(toPaid)} |
| The first sale after \`kauri start\` (not in the rows above: code compiled on first use, the first checkout and channel call, the first QR drawn) | Charge → QR ${first.qr.toFixed(0)} ms · notify → PAID ${first.paid.toFixed(0)} ms |
<!-- terminal-screens:end -->`;
if (process.env.KAURI_BENCH_NO_WRITE !== '1') writeSection('terminal-screens', section);
process.stdout.write(`${section}\n`);
process.exit(0);
