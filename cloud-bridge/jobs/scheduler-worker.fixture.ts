// A bridge-like process for the scheduler test: runs a scheduler on a shared database for a
// while and records every execution as a domain event.
import pino from 'pino';
import { openStore } from '../store/db.js';
import { EventLog } from '../events/event-log.js';
import { Scheduler } from './scheduler.js';
import { systemClock } from '../../protocol/clock.js';

const [url, durationMs, name] = process.argv.slice(2) as [string, string, string];
const store = await openStore(url);
const events = new EventLog(store);
const scheduler = new Scheduler(store, systemClock(1), pino({ level: 'silent' }), { pollMs: 20 });
scheduler.every('nightly', 3_600_000, async () => {
  await events.append({ type: 'test.job', payload: { by: name } });
});
scheduler.defineTask<{ n: number }>('test.task', async (p) => {
  await events.append({ type: 'test.task', payload: { n: p.n, by: name } });
});
scheduler.start();
process.stdout.write('ready\n');
await new Promise((r) => setTimeout(r, Number(durationMs)));
await scheduler.stop();
await store.close();
