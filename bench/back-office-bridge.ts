import { pathToFileURL } from 'node:url';
import { pino } from 'pino';
import type { startBridge as StartBridge } from '../cloud-bridge/bridge.js';

// The bridge of bench/back-office.ts, in a process of its own, so the export's memory is the
// bridge's alone and not also the client's reading it. It loads the bridge module it is given:
// the compiled one (dist/, what `kauri bridge` runs; this file then runs on Node's own type
// stripping, no tsx) or the sources (under tsx). Prints its URL as one line of JSON, then
// serves until SIGTERM.

const [bridgeModule, dbUrl, filesDir, secretKey] = process.argv.slice(2);
if (!bridgeModule || !dbUrl || !filesDir || !secretKey)
  throw new Error('usage: back-office-bridge.ts <bridge module> <db url> <files dir> <secret key>');
const { startBridge } = (await import(pathToFileURL(bridgeModule).href)) as { startBridge: typeof StartBridge };
const bridge = await startBridge({
  dbUrl,
  port: 0,
  secretKey,
  filesDir,
  log: pino({ level: 'silent' }),
  fx: { pullAtStart: false },
  runJobs: false,
});
process.stdout.write(`${JSON.stringify({ url: bridge.url })}\n`);
// Where the memory is (for finding out why, when the RSS is high): peaks of the V8 heap and of
// memory outside it, from SIGUSR2 (reset) to SIGUSR1 (printed on stderr as JSON).
let peaks = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, rss: 0 };
setInterval(() => {
  const m = process.memoryUsage();
  for (const k of Object.keys(peaks) as Array<keyof typeof peaks>) peaks[k] = Math.max(peaks[k], m[k]);
}, 20).unref();
process.on('SIGUSR2', () => {
  peaks = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, rss: 0 };
});
process.on('SIGUSR1', () => {
  const mb = Object.fromEntries(Object.entries(peaks).map(([k, v]) => [k, Math.round(v / 2 ** 20)]));
  // With --expose-gc, what is still held after a full collection: the rest was garbage.
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  const held = gc ? Math.round(process.memoryUsage().heapUsed / 2 ** 20) : null;
  process.stderr.write(`${JSON.stringify({ peaksMb: mb, heapUsedAfterGcMb: held })}\n`);
});
process.once('SIGTERM', () => {
  void bridge.close().then(() => process.exit(0));
});
