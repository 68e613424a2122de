import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { AccountsRepo } from '../store/accounts.js';
import { SecretBox } from '../store/secret-box.js';
import type { Store } from '../store/db.js';
import { createTestDatabase, storeKinds, type TestDatabase } from '../../test/support/stores.js';
import { TerminalsRepo } from './repo.js';

// A command whose change commits with its record (checkout.create) may run twice at once: a
// counter that reconnects sends it again while the first run is still going, to this bridge
// or another. The record is written once; the run that finds it written undoes its change.

describe.each(storeKinds())('command record written with its change (%s)', (kind) => {
  let tdb: TestDatabase;
  const stores: Store[] = [];
  let terminalId: string;

  beforeAll(async () => {
    tdb = await createTestDatabase(kind);
    for (let i = 0; i < 2; i++) stores.push(await tdb.open());
    const accounts = new AccountsRepo(stores[0]!, new SecretBox('record-test-secret-key-0123456789'));
    const m = await accounts.createMerchant({ name: 'M' });
    const s = await accounts.createStore({ merchantId: m.id, name: 'S', code: 'record-s' });
    const repo = new TerminalsRepo(stores[0]!);
    const { code } = await repo.createPairingCode({ storeIdOrCode: s.id });
    terminalId = (await repo.pair(code)).terminal.id;
  });
  afterAll(async () => {
    for (const s of stores) await s.close();
    await tdb?.drop();
  });

  it('records the first of two concurrent runs on two connections, and tells the second to undo its change', async () => {
    const [one, two] = stores.map((s) => ({ store: s, repo: new TerminalsRepo(s) }));
    const key = 'k-concurrent';
    let releaseFirst: () => void = () => {};
    const firstHolds = new Promise<void>((r) => (releaseFirst = r));
    let firstWrote: () => void = () => {};
    const firstWriting = new Promise<void>((r) => (firstWrote = r));
    const first = one!.store.db.transaction().execute(async (trx) => {
      const ok = await one!.repo.recordCommandOnce(trx, terminalId, { key, name: 'checkout.create', result: 'A' });
      firstWrote();
      await firstHolds; // still open when the second run writes
      return ok;
    });
    await firstWriting;
    let secondDone = false;
    const second = two!.store.db
      .transaction()
      .execute((trx) => two!.repo.recordCommandOnce(trx, terminalId, { key, name: 'checkout.create', result: 'B' }))
      .finally(() => (secondDone = true));
    await new Promise((r) => setTimeout(r, 100));
    // The second waits for the first to commit (a lock on SQLite, the unique index on PostgreSQL).
    expect(secondDone).toBe(false);
    releaseFirst();
    expect(await first).toBe(true);
    expect(await second).toBe(false);
    expect(await one!.repo.doneCommands(terminalId, [key])).toEqual(new Map([[key, 'A']]));
  });

  it('does not overwrite a record written before', async () => {
    const repo = new TerminalsRepo(stores[0]!);
    const write = (result: string) =>
      stores[0]!.db
        .transaction()
        .execute((trx) => repo.recordCommandOnce(trx, terminalId, { key: 'k-again', name: 'checkout.create', result }));
    expect(await write('first')).toBe(true);
    expect(await write('second')).toBe(false);
    expect(await repo.doneCommands(terminalId, ['k-again'])).toEqual(new Map([['k-again', 'first']]));
  });
});
