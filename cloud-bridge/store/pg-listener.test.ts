import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { createTestDatabase, pgUrl, type TestDatabase } from '../../test/support/stores.js';
import { waitFor } from '../../test/support/wait.js';
import { skipUnless } from '../../test/support/skip.js';
import { PgListener } from './pg-listener.js';

// A listener whose connection is cut (PostgreSQL restarted, failed over) says so, reconnects
// on its own and says when it hears again, so its owner can catch up on what it missed.

const dbs: TestDatabase[] = [];
afterAll(async () => {
  for (const d of dbs) await d.drop();
});

/** Whether `check` comes to hold within 5 s. */
const until = (check: () => boolean) => waitFor('the listener', check, 5000, 20).catch(() => false);

describe('PostgreSQL listener', () => {
  it.skipIf(skipUnless(!!pgUrl, 'KAURI_TEST_PG_URL is not set: no PostgreSQL to test against'))(
    'hears notifications, and after its connection is cut reconnects and hears them again',
    async () => {
      const tdb = await createTestDatabase('postgres');
      dbs.push(tdb);
      const heard: string[] = [];
      let ups = 0;
      let downs = 0;
      const listener = new PgListener({
        url: tdb.url,
        channel: 'kauri_listener_test',
        what: 'test listener',
        onNotice: (p) => heard.push(p),
        onUp: () => ups++,
        onDown: () => downs++,
      });
      const admin = new pg.Client({ connectionString: tdb.url });
      await admin.connect();
      try {
        await listener.start();
        expect(listener.connected).toBe(true);
        expect(ups).toBe(1);
        await admin.query(`select pg_notify('kauri_listener_test', 'one')`);
        expect(await until(() => heard.includes('one'))).toBe(true);

        // The server ends the listener's session, as a restart would.
        const cut = await admin.query(
          `select pg_terminate_backend(pid) from pg_stat_activity where query = 'LISTEN kauri_listener_test'`,
        );
        expect(cut.rowCount).toBe(1);
        expect(await until(() => downs === 1)).toBe(true);
        expect(await until(() => ups === 2 && listener.connected)).toBe(true);
        await admin.query(`select pg_notify('kauri_listener_test', 'two')`);
        expect(await until(() => heard.includes('two'))).toBe(true);

        // Closed: it does not come back.
        await listener.close();
        expect(listener.connected).toBe(false);
        await new Promise((r) => setTimeout(r, 1200));
        expect(ups).toBe(2);
      } finally {
        await listener.close();
        await admin.end();
      }
    },
  );
});
