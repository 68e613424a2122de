import { describe, it, expect, afterEach } from 'vitest';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { SimClock } from './clock.js';
import { FaultRegistry } from './faults.js';
import { Notifier, type NotifyJob } from './notifier.js';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A merchant endpoint that fails `failures` times, then acknowledges. */
async function receiver(failures: number) {
  const received: { at: number; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      received.push({ at: Date.now(), body });
      if (received.length <= failures) res.writeHead(500).end('busy');
      else res.writeHead(200).end('ACK');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`, received };
}

function notifier(faults = new FaultRegistry(), jobs: NotifyJob[] = []) {
  return new Notifier({
    clock: new SimClock({ scale: 1000 }),
    faults,
    log: pino({ level: 'silent' }),
    schedule: [15_000, 15_000, 30_000, 180_000],
    isAck: (status, body) => status === 200 && body === 'ACK',
    tamper: (b) => b + '-tampered',
    jobs,
    onChange: () => {},
  });
}

async function until(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Notifier', () => {
  it('retries on the scaled schedule until acknowledged', async () => {
    const r = await receiver(3);
    const n = notifier();
    const job = n.send(r.url, '<xml/>', 'text/xml');
    await until(() => job.status === 'acked');
    n.stop();
    expect(r.received).toHaveLength(4);
    expect(job.attempts).toBe(4);
    // Gaps follow 15 s, 15 s, 30 s at 1000x: 15, 15, 30 ms (timers are never early).
    const gaps = r.received.slice(1).map((x, i) => x.at - r.received[i]!.at);
    expect(gaps[0]).toBeGreaterThanOrEqual(14);
    expect(gaps[2]).toBeGreaterThanOrEqual(29);
  });

  it('gives up when the schedule runs out', async () => {
    const r = await receiver(100);
    const n = notifier();
    const job = n.send(r.url, 'x', 'text/plain');
    await until(() => job.status === 'gave_up');
    n.stop();
    expect(r.received).toHaveLength(5);
  });

  it('applies notify faults: drop, duplicate, bad signature', async () => {
    const r = await receiver(0);
    const faults = new FaultRegistry();
    const n = notifier(faults);
    faults.add({ target: 'notify', mode: 'drop-notify', remaining: 1 });
    expect(n.send(r.url, 'a', 'text/plain').status).toBe('dropped');
    faults.add({ target: 'notify', mode: 'duplicate-notify', remaining: 1 });
    const dup = n.send(r.url, 'b', 'text/plain');
    await until(() => dup.status === 'acked' && r.received.length >= 2);
    faults.add({ target: 'notify', mode: 'bad-signature', remaining: 1 });
    const bad = n.send(r.url, 'c', 'text/plain');
    await until(() => bad.status === 'acked');
    n.stop();
    expect(r.received.map((x) => x.body)).toEqual(['b', 'b', 'c-tampered']);
  });

  it('resumes pending jobs after a restart', async () => {
    const r = await receiver(0);
    const jobs: NotifyJob[] = [
      {
        id: 'j1',
        url: r.url,
        body: 'resumed',
        contentType: 'text/plain',
        meta: {},
        attempts: 2,
        nextAt: Date.now(),
        status: 'pending',
        history: [],
      },
    ];
    const n = notifier(new FaultRegistry(), jobs);
    n.start();
    await until(() => jobs[0]!.status === 'acked');
    n.stop();
    expect(r.received.map((x) => x.body)).toEqual(['resumed']);
  });
});
