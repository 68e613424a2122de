// Simulated counters for bench/terminal.ts, in their own process: opens one link per
// credential, says hello, and reports how long each event took to reach every counter.
//   node --import tsx bench/terminal-clients.ts WSURL CREDENTIALS.json
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const [url, credFile] = process.argv.slice(2) as [string, string];
const creds = JSON.parse(readFileSync(credFile, 'utf8')) as Array<{ terminalId: string; secret: string }>;
const head = Number(process.env.BENCH_HEAD ?? 0);
const sockets: WebSocket[] = [];
const received = new Map<number, number[]>();
let expected = 0;

function report(seq: number): void {
  const l = (received.get(seq) ?? []).sort((a, b) => a - b);
  if (expected === 0 || l.length < expected) return;
  const q = (p: number) => l[Math.min(l.length - 1, Math.floor(p * l.length))]!;
  process.stdout.write(
    `${JSON.stringify({ type: 'latency', seq, n: l.length, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: l[l.length - 1] })}\n`,
  );
}

async function connect(c: { terminalId: string; secret: string }): Promise<void> {
  // A refused or reset connect (a full accept queue) is tried again, as a counter would.
  for (let attempt = 0; ; attempt++) {
    try {
      return await connectOnce(c);
    } catch (err) {
      if (attempt > 20) throw err;
      await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
    }
  }
}

function connectOnce(c: { terminalId: string; secret: string }): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const ws = new WebSocket(url, 'kauri-link.v1', {
      headers: { authorization: `Bearer ${c.terminalId}.${c.secret}` },
    });
    ws.on('open', () => ws.send(JSON.stringify({ v: 1, type: 'hello', lastSeq: head })));
    ws.on('message', (d) => {
      const m = JSON.parse(d.toString());
      if (m.type === 'welcome') resolve();
      if (m.type === 'event') {
        const at = Date.now() - Number(m.payload?.t0 ?? Date.now());
        const l = received.get(m.seq) ?? [];
        l.push(at);
        received.set(m.seq, l);
        report(m.seq);
      }
    });
    ws.on('error', reject);
    ws.on('close', () => reject(new Error('closed before welcome')));
    sockets.push(ws);
  });
}

const started = Date.now();
for (let i = 0; i < creds.length; i += 50) await Promise.all(creds.slice(i, i + 50).map(connect));
expected = creds.length;
process.stdout.write(
  `${JSON.stringify({ type: 'connected', n: creds.length, ms: Date.now() - started, rssMb: Math.round(process.memoryUsage().rss / 2 ** 20) })}\n`,
);
process.stdin.on('data', () => undefined);
process.stdin.on('end', () => process.exit(0));
