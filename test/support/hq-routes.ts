import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import { startBridge, type Bridge, type BridgeOptions } from '../../cloud-bridge/bridge.js';
import { ChannelRegistry } from '../../cloud-bridge/channels/channel.js';
import type { Role } from '../../cloud-bridge/hq/scope.js';
import { createTestDatabase } from './stores.js';

// One way to set up a test of the back office's routes under /hq/api: a bridge on a fresh test
// database (SQLite or PostgreSQL), its users, their signed-in sessions and requests made as them.
//
//   const hq = await openHq(kind, { clock });                 // any BridgeOptions override the defaults
//   const a = (await hq.bridge.accounts.createMerchant({ name: 'Aroha Books' })).id;
//   await hq.users([
//     { username: 'root', role: 'hq_admin' },
//     { username: 'mgr', role: 'store_manager', merchantId: a, storeIds: [store], refundLimitMinor: 5000 },
//   ]);                                                       // password HQ_PASSWORD unless given
//   const root = await hq.login('root');                      // { cookie, csrf }; throws unless 200
//   const r = await hq.call('POST', '/hq/api/x', root, { a: 1 });  // { status, body, code, raw, rawBytes, headers }
//   await hq.close();                                         // in afterAll: bridge, database, files
//
// Requests go through the app in-process (app.inject); `hq.bridge.url` is there for a real client
// (a browser, fetch of a stream). A call with a body sends it as JSON with the session's CSRF token.

export const HQ_PASSWORD = 'a long password';

export interface HqLogin {
  cookie: string;
  csrf: string;
}

export interface HqUser {
  username: string;
  role: Role;
  password?: string;
  merchantId?: string;
  storeIds?: string[];
  refundLimitMinor?: number;
}

export interface HqResponse {
  status: number;
  /** The JSON answer ({} when empty or not JSON). */
  body: Record<string, any>;
  /** The answer's error code, when it is an error. */
  code: string | undefined;
  raw: string;
  /** The answer's bytes, for one that is not text (a PDF). */
  rawBytes: Buffer;
  headers: Record<string, string | string[] | number | undefined>;
}

export interface HqTest {
  bridge: Bridge;
  users(list: readonly HqUser[]): Promise<void>;
  /** Signs in; throws (with `status` and `body`) unless the answer is 200. */
  login(username: string, password?: string, totp?: string): Promise<HqLogin>;
  call(
    method: string,
    url: string,
    as?: HqLogin,
    payload?: unknown,
    headers?: Record<string, string>,
  ): Promise<HqResponse>;
  close(): Promise<void>;
}

/** A clock the test moves by hand (protocol durations are real ones). */
export function handClock(start = Date.parse('2026-12-04T09:00:10Z')): Clock & { advance(ms: number): void } {
  let t = start;
  return {
    now: () => new Date(t),
    duration: (ms) => ms,
    sleep: async () => undefined,
    advance: (ms) => {
      t += ms;
    },
  };
}

export async function openHq(kind: 'sqlite' | 'postgres', options: Partial<BridgeOptions> = {}): Promise<HqTest> {
  const db = await createTestDatabase(kind);
  const files = mkdtempSync(join(tmpdir(), 'kauri-hq-routes-'));
  let bridge: Bridge;
  try {
    bridge = await startBridge({
      dbUrl: db.url,
      port: 0,
      secretKey: 'hq-routes-secret-key-0123456789abcdef',
      filesDir: files,
      log: pino({ level: 'silent' }),
      channels: new ChannelRegistry(),
      fx: { pullAtStart: false },
      runJobs: false,
      ...options,
    });
  } catch (err) {
    await db.drop();
    rmSync(files, { recursive: true, force: true });
    throw err;
  }

  const call = async (
    method: string,
    url: string,
    as?: HqLogin,
    payload?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HqResponse> => {
    const res = await bridge.app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(as ? { cookie: as.cookie, 'x-csrf-token': as.csrf } : {}),
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(payload !== undefined ? { payload: JSON.stringify(payload) } : {}),
    });
    let body: HqResponse['body'] = {};
    try {
      body = res.body ? (JSON.parse(res.body) as HqResponse['body']) : {};
    } catch {
      // Not JSON (a CSV, a page): `raw` has it.
    }
    return {
      status: res.statusCode,
      body,
      code: body.error?.code as string | undefined,
      raw: res.body,
      rawBytes: res.rawPayload,
      headers: res.headers,
    };
  };

  const login = async (username: string, password = HQ_PASSWORD, totp?: string): Promise<HqLogin> => {
    const res = await bridge.app.inject({
      method: 'POST',
      url: '/hq/api/login',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ username, password, ...(totp ? { totp } : {}) }),
    });
    if (res.statusCode !== 200)
      throw Object.assign(new Error(res.body), { status: res.statusCode, body: res.json() as unknown });
    return {
      cookie: String(res.headers['set-cookie']).split(';')[0]!,
      csrf: (res.json() as { csrf: string }).csrf,
    };
  };

  return {
    bridge,
    async users(list) {
      for (const u of list)
        await bridge.accounts.createUser({
          username: u.username,
          password: u.password ?? HQ_PASSWORD,
          role: u.role,
          merchantId: u.merchantId,
          storeIds: u.storeIds,
          refundLimitMinor: u.refundLimitMinor,
        });
    },
    login,
    call,
    async close() {
      await bridge.close();
      await db.drop();
      rmSync(files, { recursive: true, force: true });
    },
  };
}
