import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import createClient from 'openapi-fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { paths } from '../support/merchant-api.openapi.js';
import { merchantApiTypes, TYPES_FILE } from '../support/openapi-types.js';
import { startSim, startWorld, type Sim, type World } from './onecode-support.js';

// The merchant API's OpenAPI document as an integrator meets it: it passes Redocly's
// `recommended` rules with no error and no warning, the committed types generated from it
// are current, and a client typed by those types (openapi-fetch) pays and refunds with
// WeChat Pay through a real bridge and the WeChat simulator.

const REDOCLY = join(process.cwd(), 'node_modules/@redocly/cli/bin/cli.js');

interface LintReport {
  totals: { errors: number; warnings: number };
  problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }>;
}

/** Runs Redocly's CLI on `file` with the recommended ruleset and answers its JSON report. */
function redoclyLint(file: string): Promise<LintReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [REDOCLY, 'lint', file, '--extends=recommended', '--format=json'], {
      env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as LintReport);
      } catch {
        reject(new Error(`redocly lint gave no JSON report: ${out}\n${err}`));
      }
    });
  });
}

describe('the merchant API’s OpenAPI document and a client generated from it', () => {
  let wechat: Sim;
  let w: World;
  let doc: Record<string, unknown>;
  const dir = mkdtempSync(join(tmpdir(), 'kauri-openapi-'));

  beforeAll(async () => {
    wechat = await startSim('wechat', { KAURI_TIME_SCALE: '10' });
    w = await startWorld({ wechat }, { timeScale: 5 });
    const res = await fetch(`${w.bridge.url}/api/v1/openapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Record<string, unknown>;
  }, 120_000);
  afterAll(async () => {
    await w?.stop();
    await wechat?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes Redocly’s recommended rules with no error and no warning', async () => {
    const file = join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc, null, 2));
    const report = await redoclyLint(file);
    const problems = report.problems.map((p) => `${p.severity} ${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    expect(problems).toEqual([]);
    expect(report.totals).toMatchObject({ errors: 0, warnings: 0 });
  });

  it('the lint fails a document that breaks a recommended rule', async () => {
    // The check above must be able to fail: drop one summary and one operationId.
    const broken = structuredClone(doc) as { paths: Record<string, Record<string, Record<string, unknown>>> };
    delete broken.paths['/api/v1/payments']!.get!.summary;
    delete broken.paths['/api/v1/payments']!.post!.operationId;
    const file = join(dir, 'broken.json');
    writeFileSync(file, JSON.stringify(broken));
    const report = await redoclyLint(file);
    expect(report.problems.map((p) => p.ruleId).sort()).toEqual(['operation-operationId', 'operation-summary']);
  });

  it('the committed client types are the ones the document generates', async () => {
    const fresh = await merchantApiTypes(doc);
    if (process.env.KAURI_UPDATE_OPENAPI_TYPES === '1') writeFileSync(TYPES_FILE, fresh);
    expect(existsSync(TYPES_FILE), TYPES_FILE).toBe(true);
    expect(
      readFileSync(TYPES_FILE, 'utf8') === fresh,
      `${TYPES_FILE} is stale: run KAURI_UPDATE_OPENAPI_TYPES=1 npx vitest run test/e2e/openapi-client.test.ts`,
    ).toBe(true);
  });

  it('a typed client creates a WeChat payment, reads it paid, and refunds part of it', async () => {
    const client = createClient<paths>({
      baseUrl: w.bridge.url,
      headers: { authorization: `Bearer ${w.seed.apiKey}` },
    });
    const outTradeNo = `typed${Date.now()}`;
    const created = await client.POST('/api/v1/payments', {
      body: { out_trade_no: outTradeNo, amount_minor: 1250, currency: 'NZD', channel: 'wechat', mode: 'native' },
    });
    expect(created.response.status, JSON.stringify(created.error)).toBe(201);
    expect(created.data?.status).toBe('pending');
    expect(created.data?.qr_code).toMatch(/^weixin:\/\//);

    // The customer scans the NATIVE code and confirms in WeChat.
    expect((await wechat.control('/sim/pay', { code_url: created.data!.qr_code })).status).toBe(200);

    const path = { params: { path: { out_trade_no: outTradeNo } } };
    let read = await client.GET('/api/v1/payments/{out_trade_no}', path);
    for (let i = 0; i < 200 && read.data?.status !== 'paid'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      read = await client.GET('/api/v1/payments/{out_trade_no}', path);
    }
    expect(read.data).toMatchObject({ status: 'paid', amount_minor: 1250, currency: 'NZD', refunded_minor: 0 });
    expect(read.data?.channel_trade_no).toBeTruthy();

    const refund = await client.POST('/api/v1/payments/{out_trade_no}/refunds', {
      ...path,
      body: { out_refund_no: `${outTradeNo}r1`, amount_minor: 450, reason: 'one item returned' },
    });
    expect(refund.response.status, JSON.stringify(refund.error)).toBe(201);
    expect(refund.data).toMatchObject({ out_refund_no: `${outTradeNo}r1`, amount_minor: 450, currency: 'NZD' });

    let refunds = await client.GET('/api/v1/payments/{out_trade_no}/refunds', path);
    for (let i = 0; i < 200 && refunds.data?.data[0]?.status !== 'succeeded'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      refunds = await client.GET('/api/v1/payments/{out_trade_no}/refunds', path);
    }
    expect(refunds.data?.data.map((r) => [r.out_refund_no, r.status])).toEqual([[`${outTradeNo}r1`, 'succeeded']]);
    const after = await client.GET('/api/v1/payments/{out_trade_no}', path);
    expect(after.data).toMatchObject({ status: 'partially_refunded', refunded_minor: 450 });

    // Errors come back typed too: the catalogue's code, with the documented status.
    const tooMuch = await client.POST('/api/v1/payments/{out_trade_no}/refunds', {
      ...path,
      body: { out_refund_no: `${outTradeNo}r2`, amount_minor: 1000 },
    });
    expect(tooMuch.response.status).toBeGreaterThanOrEqual(400);
    expect(tooMuch.response.status).toBeLessThan(500);
    expect(tooMuch.error?.error.code).toMatch(/^[a-z][a-z0-9_]*$/);
    const missing = await client.GET('/api/v1/payments/{out_trade_no}', {
      params: { path: { out_trade_no: 'no_such_payment' } },
    });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.error.code).toBe('order_not_found');
  });

  it('the counters’ routes answer what the document says', async () => {
    const client = createClient<paths>({
      baseUrl: w.bridge.url,
      headers: { authorization: `Bearer ${w.seed.apiKey}` },
    });
    const code = await client.POST('/api/v1/terminals/pairing-codes', { body: { store: w.seed.storeCode } });
    expect(code.response.status, JSON.stringify(code.error)).toBe(201);
    expect(code.data?.code).toBeTruthy();
    const list = await client.GET('/api/v1/terminals');
    expect(list.response.status).toBe(200);
    expect(list.data?.terminals).toEqual([]);
    const revoke = await client.POST('/api/v1/terminals/{id}/revoke', { params: { path: { id: 'trm_nope' } } });
    expect(revoke.response.status).toBe(404);
    expect(revoke.error?.error.code).toBe('not_found');
  });
});
