import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startBridge, type Bridge, type BridgeOptions } from '../bridge.js';
import { ChannelRegistry } from '../channels/channel.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/stores.js';
import { parseListen } from './metrics.js';

// /metrics is never open to whoever reaches the bridge's port: a bearer token there, or a
// separate (private) listen address; with neither it says how to turn it on.

describe('/metrics access', () => {
  const open: Array<{ bridge: Bridge; db: TestDatabase; files: string }> = [];
  afterEach(async () => {
    for (const o of open.splice(0)) {
      await o.bridge.close();
      await o.db.drop();
      rmSync(o.files, { recursive: true, force: true });
    }
  });

  const bridgeWith = async (metrics: BridgeOptions['metrics']): Promise<Bridge> => {
    const db = await createTestDatabase('sqlite');
    const files = mkdtempSync(join(tmpdir(), 'kauri-metrics-'));
    const bridge = await startBridge({
      dbUrl: db.url,
      port: 0,
      secretKey: 'metrics-secret-key-0123456789abcdef',
      filesDir: files,
      log: pino({ level: 'silent' }),
      channels: new ChannelRegistry(),
      fx: { pullAtStart: false },
      runJobs: false,
      metrics,
    });
    open.push({ bridge, db, files });
    return bridge;
  };

  it('without a token or a listen address: 403 saying how to enable it', async () => {
    const b = await bridgeWith({});
    const res = await fetch(`${b.url}/metrics`);
    expect(res.status).toBe(403);
    const body = await res.text();
    expect(body).toContain('--metrics-token');
    expect(body).toContain('KAURI_METRICS_TOKEN');
    expect(body).toContain('--metrics-listen');
    expect(body).not.toContain('kauri_http_request_duration_seconds');
  });

  it('with a token: 401 without it or with a wrong one, the metrics with the right one', async () => {
    const b = await bridgeWith({ token: 'scrape-me-0123456789' });
    expect((await fetch(`${b.url}/metrics`)).status).toBe(401);
    const wrong = await fetch(`${b.url}/metrics`, { headers: { authorization: 'Bearer scrape-me-012345678' } });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).not.toContain('kauri_');
    const right = await fetch(`${b.url}/metrics`, { headers: { authorization: 'Bearer scrape-me-0123456789' } });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('kauri_http_request_duration_seconds');
  });

  it('with a listen address: served there without a token, refused on the public port', async () => {
    const b = await bridgeWith({ listen: '127.0.0.1:0' });
    expect(b.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    await fetch(`${b.url}/healthz`);
    const there = await fetch(b.metricsUrl!);
    expect(there.status).toBe(200);
    expect(await there.text()).toContain('kauri_http_request_duration_seconds');
    const here = await fetch(`${b.url}/metrics`);
    expect(here.status).toBe(403);
    expect(await here.text()).toContain('metrics address');
  });

  it('parses listen addresses', () => {
    expect(parseListen('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(() => parseListen('9464')).toThrow(/host:port/);
  });
});
