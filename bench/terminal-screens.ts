// The counter as a cashier feels it, against `kauri start` in Chromium. Writes the
// "Terminal screens" section of BENCHMARKS.md.
//   node --import tsx bench/terminal-screens.ts
//
// - Charge → QR visible: click on charge-button until the customer screen's customer-qr is shown.
// - Alipay notify → PAID: from the simulator's /sim/pay answer (the notify goes out then)
//   until the cashier's payment-status says PAID.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { spawnKauri } from '../test/support/processes.js';
import { portBase, readEndpoints, simControl, textOf } from '../test/e2e/terminal-support.js';
import { CHROMIUM, CHROMIUM_ARGS, UA } from '../test/e2e/onecode-support.js';

const RUNS = 10;
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
await cashier.goto(ep.cashier);
await customer.goto(ep.customer);
await cashier.getByTestId('connection-status').filter({ hasText: 'ONLINE' }).waitFor({ timeout: 30_000 });

const toQr: number[] = [];
const toPaid: number[] = [];
for (let i = 0; i < RUNS; i++) {
  if (await cashier.getByTestId('done-button').isVisible()) await cashier.getByTestId('done-button').click();
  await cashier.getByTestId('amount-input').fill(`${10 + i}.50`);
  const t0 = performance.now();
  await cashier.getByTestId('charge-button').click();
  await customer.getByTestId('customer-qr').waitFor({ state: 'visible', timeout: 30_000 });
  toQr.push(performance.now() - t0);
  const st = JSON.parse(await (await fetch(new URL('/api/state', ep.cashier))).text());
  const landing = await fetch(st.current.url, { headers: { 'user-agent': UA.alipay }, redirect: 'manual' });
  const qr = landing.headers.get('location')!;
  await alipay.control('/sim/pay', { qr_code: qr });
  const t1 = performance.now();
  for (;;) {
    if ((await textOf(cashier, 'payment-status')).includes('PAID')) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  toPaid.push(performance.now() - t1);
}
await browser.close();
await alipay.stop();
await kauri.stop();
rmSync(data, { recursive: true, force: true });

const stats = (l: number[]) => {
  const s = [...l].sort((a, b) => a - b);
  return `p50 ${s[Math.floor(s.length / 2)]!.toFixed(0)} ms · max ${s[s.length - 1]!.toFixed(0)} ms`;
};
const section = `<!-- terminal-screens:start -->
## Terminal screens

Run: \`node --import tsx bench/terminal-screens.ts\` · ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC · ${cpus()[0]?.model ?? 'cpu'}, ${cpus().length} cores, node ${process.version}. \`kauri start\` (time scale 1), the cashier and customer screens in headless Chromium, ${RUNS} sales; the machine is shared with other work.

| what | result |
|---|---|
| Charge → QR visible on the customer screen (click to \`customer-qr\` shown: command through the outbox, checkout created, event stream, QR drawn) | ${stats(toQr)} |
| Alipay notify → PAID on the cashier screen (from \`/sim/pay\` answered until \`payment-status\` says PAID: notify verified and applied, event log, link, counter SQLite, screen stream) | ${stats(toPaid)} |
<!-- terminal-screens:end -->`;
const file = join(import.meta.dirname, '..', 'BENCHMARKS.md');
const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Kauri benchmarks\n';
const re = /<!-- terminal-screens:start -->[\s\S]*?<!-- terminal-screens:end -->/;
writeFileSync(file, re.test(current) ? current.replace(re, section) : `${current.trimEnd()}\n\n${section}\n`);
process.stdout.write(`${section}\n`);
process.exit(0);
