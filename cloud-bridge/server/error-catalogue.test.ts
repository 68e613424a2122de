import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { ERRORS, KauriError } from '../../protocol/errors.js';
import { MoneyError } from '../../protocol/money.js';
import { ReconcileError, type ReconcileErrorCode } from '../reconcile/errors.js';
import { RunError, type RunErrorCode } from '../reconcile/runs/errors.js';
import { SIGNATURE_ERROR_CODES } from '../webhooks/verify-signature.js';
import { startBridge, type Bridge } from '../bridge.js';
import { defaultChannels } from '../channels/index.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/stores.js';

// Every HTTP surface of the bridge answers its errors through one boundary, with codes of the
// one catalogue. This walks every route in fastify's route table, the way a stranger would:
// without credentials, with a wrong key, with a body that is not JSON and with one of the
// wrong shape, and checks that every error code answered is in the catalogue.

describe('every route of the bridge answers errors from the catalogue', () => {
  let db: TestDatabase;
  let files: string;
  let bridge: Bridge;
  let apiKey: string;

  beforeAll(async () => {
    db = await createTestDatabase('sqlite');
    files = mkdtempSync(join(tmpdir(), 'kauri-error-walk-'));
    bridge = await startBridge({
      dbUrl: db.url,
      port: 0,
      secretKey: 'error-walk-secret-key-0123456789abcdef',
      filesDir: files,
      log: pino({ level: 'silent' }),
      channels: defaultChannels(),
      fx: { pullAtStart: false },
      runJobs: false,
    });
    const merchant = await bridge.accounts.createMerchant({ name: 'Walk Ltd' });
    apiKey = (await bridge.accounts.createApiKey(merchant.id)).key;
  }, 120_000);

  afterAll(async () => {
    await bridge?.close();
    await db?.drop();
    if (files) rmSync(files, { recursive: true, force: true });
  });

  it('walks the route table', { timeout: 300_000 }, async () => {
    const routes = bridge.routes.filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
    expect(routes.length).toBeGreaterThan(30);
    // The surfaces the walk must cover, so a route table that lost them fails here.
    const urls = routes.map((r) => r.url);
    for (const prefix of ['/api/v1/', '/hq/api/', '/c/', '/s/']) {
      expect(
        urls.some((u) => u.startsWith(prefix)),
        prefix,
      ).toBe(true);
    }

    const seen = new Map<string, string[]>(); // code → where it was answered
    const unknown: string[] = [];
    const serverErrors: string[] = [];
    const fill = (url: string) => url.replace(/:[A-Za-z_]+/g, 'nope').replace(/\*/g, 'nope');
    const attempts = (method: string): Array<{ what: string; init: RequestInit }> => {
      const hasBody = method !== 'GET' && method !== 'DELETE';
      const json = { 'content-type': 'application/json' };
      const list: Array<{ what: string; init: RequestInit }> = [
        { what: 'no credentials', init: { method, ...(hasBody ? { headers: json, body: '{}' } : {}) } },
        {
          what: 'a wrong API key',
          init: {
            method,
            headers: { ...json, authorization: 'Bearer kauri_wrong_key' },
            ...(hasBody ? { body: '{}' } : {}),
          },
        },
      ];
      if (hasBody) {
        const auth = { authorization: `Bearer ${apiKey}` };
        list.push(
          {
            what: 'a body that is not JSON',
            init: { method, headers: { ...json, ...auth }, body: '{"amount_minor":' },
          },
          {
            what: 'a body of the wrong shape',
            init: {
              method,
              headers: { ...json, ...auth },
              body: JSON.stringify({ amount_minor: -1, currency: 'XXX' }),
            },
          },
          {
            what: 'a form of nonsense',
            init: { method, headers: { 'content-type': 'text/plain', ...auth }, body: 'x' },
          },
        );
      } else {
        list.push({
          what: 'the right key, wrong ids',
          init: { method, headers: { authorization: `Bearer ${apiKey}` } },
        });
      }
      return list;
    };

    for (const r of routes) {
      const url = new URL(fill(r.url), bridge.url);
      for (const a of attempts(r.method)) {
        const res = await fetch(url, { ...a.init, redirect: 'manual', signal: AbortSignal.timeout(10_000) }).catch(
          (err: Error) => err,
        );
        if (res instanceof Error) continue; // a WebSocket route that wants an upgrade may hang up
        const where = `${r.method} ${r.url} (${a.what}) → ${res.status}`;
        if (res.status >= 500 && res.status !== 502 && res.status !== 503 && res.status !== 504)
          serverErrors.push(where);
        const type = res.headers.get('content-type') ?? '';
        // Pages answer people with pages; an event stream would stay open: read neither.
        if (res.status < 400 || !type.includes('json')) {
          await res.body?.cancel();
          continue;
        }
        const body = (await res.json().catch(() => undefined)) as { error?: { code?: unknown } } | undefined;
        const code = body?.error?.code;
        if (typeof code !== 'string') {
          unknown.push(`${where}: no error.code in ${JSON.stringify(body)?.slice(0, 120)}`);
          continue;
        }
        if (!Object.prototype.hasOwnProperty.call(ERRORS, code)) unknown.push(`${where}: ${code}`);
        else if (ERRORS[code as keyof typeof ERRORS].status !== res.status)
          unknown.push(
            `${where}: ${code} answered with ${res.status}, the catalogue says ${ERRORS[code as keyof typeof ERRORS].status}`,
          );
        seen.set(code, [...(seen.get(code) ?? []), where]);
      }
    }
    expect(unknown).toEqual([]);
    expect(serverErrors).toEqual([]);
    // The walk reached the refusals it is about.
    expect([...seen.keys()]).toEqual(expect.arrayContaining(['unauthenticated', 'invalid_json', 'not_found']));
  });
});

describe('every error class speaks the catalogue', () => {
  it('is a KauriError whose code, status and Chinese are the catalogue entry', () => {
    const reconcile: ReconcileErrorCode[] = [
      'bad_argument',
      'file_unreadable',
      'wrong_encoding',
      'wrong_header',
      'malformed_row',
      'truncated_file',
      'summary_mismatch',
      'wrong_day',
      'database_required',
      'output_unwritable',
    ];
    const runs: RunErrorCode[] = [
      'bad_argument',
      'not_found',
      'conflict',
      'day_signed_off',
      'statement_rejected',
      'no_statement',
      'forbidden',
      'unauthorized',
    ];
    const errors: KauriError[] = [
      ...reconcile.map((c) => new ReconcileError(c, 'x', { file: 'a.csv', line: 3 })),
      ...runs.map((c) => new RunError(c, 'x')),
      ...(['unknown_currency', 'invalid_amount', 'currency_mismatch', 'amount_overflow'] as const).map(
        (c) => new MoneyError(c, 'x'),
      ),
    ];
    for (const e of errors) {
      expect(e, e.code).toBeInstanceOf(KauriError);
      expect(e.status, e.code).toBe(ERRORS[e.code].status);
      expect(e.zh, e.code).toBe(ERRORS[e.code].zh);
    }
    expect(new ReconcileError('malformed_row', 'bad amount', { file: 'a.csv', line: 3 }).report()).toBe(
      'a.csv line 3: bad amount',
    );
  });

  it("knows the codes of the merchant's webhook verifier", () => {
    for (const c of SIGNATURE_ERROR_CODES) expect(Object.keys(ERRORS), c).toContain(c);
  });
});
