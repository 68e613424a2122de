// The counter as a cashier feels it, against `kauri start` in Chromium. Writes the
// "Terminal screens" section of BENCHMARKS.md.
//   node --import tsx bench/terminal-screens.ts
//
// Timed inside the pages, as the people in front of them see it (the test driver's own
// round trips are not the counter's):
// - Charge → QR: the click on charge-button as the cashier page receives it, until the
//   customer page's DOM holds the new customer-qr.
// - Alipay notify → PAID: from the simulator's /sim/pay answer (the notify goes out then)
//   until the cashier page's payment-status says PAID.
// Both pages and this process read the same wall clock (performance.timeOrigin + now()).
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { spawnKauri } from '../test/support/processes.js';
import { portBase, readEndpoints, simControl } from '../test/e2e/terminal-support.js';
import { CHROMIUM, CHROMIUM_ARGS, UA } from '../test/e2e/onecode-support.js';

const RUNS = Number(process.env.KAURI_BENCH_RUNS ?? 100);
const data = mkdtempSync(join(tmpdir(), 'kauri-bench-screens-'));
const kauri = await spawnKauri(['start', '--data', data, '--port-base', String(await portBase())], {
  ready: /Press Ctrl-C to stop/,
  timeoutMs: 120_000,
});
const ep = readEndpoints(data);
const alipay = simControl('alipay', ep.sims.alipay, join(data, 'sims', 'alipay'));
// Two screens of one counter are two windows, both in front: keep Chromium from
// throttling the one that is not focused (a background tab gets its timers slowed).
const browser = await chromium.launch({
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
await cashier.addInitScript(() => {
  const w = window as unknown as { __charged: number[]; __paid: number[] };
  w.__charged = [];
  w.__paid = [];
  const at = () => performance.timeOrigin + performance.now();
  addEventListener(
    'click',
    (e) => {
      if ((e.target as Element).closest('[data-testid="charge-button"]')) w.__charged.push(at());
    },
    true,
  );
  let was = '';
  new MutationObserver(() => {
    const t = document.querySelector('[data-testid="payment-status"]')?.textContent ?? '';
    if (t.includes('PAID') && !was.includes('PAID')) w.__paid.push(at());
    was = t;
  }).observe(document, { subtree: true, childList: true, characterData: true });
});
await customer.addInitScript(() => {
  const w = window as unknown as { __qr: number[] };
  w.__qr = [];
  let last = '';
  new MutationObserver(() => {
    const src = document.querySelector('[data-testid="customer-qr"]')?.getAttribute('src') ?? '';
    if (src && src !== last) w.__qr.push(performance.timeOrigin + performance.now());
    last = src;
  }).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['src'] });
});
await cashier.goto(ep.cashier);
await customer.goto(ep.customer);
const marks = async <T>(page: typeof cashier, name: string) =>
  (await page.evaluate((n) => (window as unknown as Record<string, T[]>)[n]!, name)) as T[];
await cashier.getByTestId('connection-status').filter({ hasText: 'ONLINE' }).waitFor({ timeout: 30_000 });

const toQr: number[] = [];
const toPaid: number[] = [];
for (let i = 0; i < RUNS; i++) {
  if (await cashier.getByTestId('done-button').isVisible()) await cashier.getByTestId('done-button').click();
  await cashier.getByTestId('amount-input').fill(`${10 + (i % 50)}.50`);
  await cashier.getByTestId('charge-button').click();
  await customer.getByTestId('customer-qr').waitFor({ state: 'visible', timeout: 30_000 });
  const clicked = (await marks<number>(cashier, '__charged')).at(-1)!;
  await customer.waitForFunction((n) => (window as unknown as { __qr: number[] }).__qr.length > n, i);
  const shown = (await marks<number>(customer, '__qr')).at(-1)!;
  toQr.push(shown - clicked);
  const st = JSON.parse(await (await fetch(new URL('/api/state', ep.cashier))).text());
  const landing = await fetch(st.current.url, { headers: { 'user-agent': UA.alipay }, redirect: 'manual' });
  const qr = landing.headers.get('location')!;
  await alipay.control('/sim/pay', { qr_code: qr });
  const t1 = performance.timeOrigin + performance.now();
  await cashier.waitForFunction((n) => (window as unknown as { __paid: number[] }).__paid.length > n, i, {
    timeout: 30_000,
  });
  toPaid.push((await marks<number>(cashier, '__paid')).at(-1)! - t1);
}
await browser.close();
await alipay.stop();
await kauri.stop();
rmSync(data, { recursive: true, force: true });

const stats = (l: number[]) => {
  const s = [...l].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!.toFixed(0);
  return `p50 ${q(50)} ms · p99 ${q(99)} ms · max ${s[s.length - 1]!.toFixed(0)} ms`;
};
const section = `<!-- terminal-screens:start -->
## Terminal screens

Run: \`node --import tsx bench/terminal-screens.ts\` · ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, node ${process.version}. \`kauri start\` (time scale 1), the cashier and customer screens in headless Chromium, ${RUNS} sales, timed inside the pages; the machine is shared with other work.

| what | result |
|---|---|
| Charge → QR on the customer screen (the click as the cashier page sees it until the customer page's DOM holds \`customer-qr\`: command through the outbox, checkout created, answer applied, state stream, QR drawn) | ${stats(toQr)} |
| Alipay notify → PAID on the cashier screen (from \`/sim/pay\` answered until the cashier page's \`payment-status\` says PAID: notify verified and applied, event log, link, counter SQLite, state stream) | ${stats(toPaid)} |
<!-- terminal-screens:end -->`;
const file = join(import.meta.dirname, '..', 'BENCHMARKS.md');
const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Kauri benchmarks\n';
const re = /<!-- terminal-screens:start -->[\s\S]*?<!-- terminal-screens:end -->/;
writeFileSync(file, re.test(current) ? current.replace(re, section) : `${current.trimEnd()}\n\n${section}\n`);
process.stdout.write(`${section}\n`);
process.exit(0);
