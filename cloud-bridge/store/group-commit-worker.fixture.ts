// A writer for the group-commit kill test: opens the store the bridge's way and keeps
// many writes in flight, printing each id once its write is acknowledged.
import { openStore } from './db.js';

const [url] = process.argv.slice(2) as [string];
const store = await openStore(url);
let n = 0;
const writer = async () => {
  for (;;) {
    const id = `evt_kill_${process.pid}_${n++}`;
    await store.db
      .insertInto('events')
      .values({
        id,
        type: 'test.kill',
        merchant_id: null,
        store_id: null,
        payload: '{}',
        created_at: new Date().toISOString(),
      })
      .execute();
    process.stdout.write(`${id}\n`);
  }
};
process.stdout.write('ready\n');
await Promise.all(Array.from({ length: 16 }, writer));
