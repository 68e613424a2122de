import { describe, it, expect } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { call, readCa, startSim } from './wechat-sim-harness.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const kauri = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, 'bin', 'kauri'), ...args], {
    env: { ...process.env, KAURI_FROM_SOURCE: '1' },
    encoding: 'utf8',
    timeout: 60_000,
  });

describe('kauri sim wechat (CLI)', () => {
  it('has --help', () => {
    const r = kauri('sim', 'wechat', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--tls/);
    expect(r.stdout).toMatch(/--merchant/);
  });

  it('exits non-zero with the reason for bad arguments and unreadable state', () => {
    const port = kauri('sim', 'wechat', '--port', 'nope');
    expect(port.status).not.toBe(0);
    expect(port.stderr).toMatch(/port/);
    const m = kauri('sim', 'wechat', '--merchant', 'mch_id=1');
    expect(m.status).not.toBe(0);
    expect(m.stderr).toMatch(/appid/);
    const dir = mkdtempSync(join(tmpdir(), 'kauri-wxsim-bad-'));
    writeFileSync(join(dir, 'wechat-sim.json'), '{"orders": [');
    const s = kauri('sim', 'wechat', '--state', dir, '--port', '0');
    expect(s.status).not.toBe(0);
    expect(s.stderr.trim().split('\n')).toHaveLength(1);
    expect(s.stderr).toMatch(/state file/);
    expect(readFileSync(join(dir, 'wechat-sim.json'), 'utf8')).toBe('{"orders": [');
  });

  it('serves an extra --merchant with its own key and client certificate', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-wxsim-merchant-'));
    const key = 'Zx9Zx9Zx9Zx9Zx9Zx9Zx9Zx9Zx9Zx9Zx';
    const sim = await startSim([
      '--tls',
      '--state',
      dir,
      '--port',
      '0',
      '--merchant',
      `mch_id=1900000109,appid=wx8888888888888888,key=${key},currency=AUD`,
    ]);
    try {
      const p12 = join(dir, 'merchants', '1900000109', 'apiclient_cert.p12');
      expect(existsSync(p12)).toBe(true);
      const tls = { ca: readCa(dir) };
      const order = {
        appid: 'wx8888888888888888',
        mch_id: '1900000109',
        body: 'AU',
        out_trade_no: 'AU-1',
        total_fee: '100',
        fee_type: 'AUD',
        spbill_create_ip: '127.0.0.1',
        notify_url: 'http://127.0.0.1:9/n',
        trade_type: 'NATIVE',
        product_id: 'p',
      };
      expect(await call(sim.url, '/pay/unifiedorder', order, { tls, key })).toMatchObject({ result_code: 'SUCCESS' });
      // The default merchant's key does not sign for it.
      expect(await call(sim.url, '/pay/unifiedorder', { ...order, out_trade_no: 'AU-2' }, { tls })).toMatchObject({
        return_code: 'FAIL',
        return_msg: '签名错误',
      });
      // Its certificate is not the default merchant's: a refund for 10000100 with it is refused.
      const refund = {
        appid: 'wx2421b1c4370ec43b',
        mch_id: '10000100',
        out_trade_no: 'X',
        out_refund_no: 'R',
        total_fee: '1',
        refund_fee: '1',
      };
      const r = await call(sim.url, '/secapi/pay/refund', refund, {
        tls: { ...tls, pfx: readFileSync(p12), passphrase: '1900000109' },
      });
      expect(r).toMatchObject({ return_code: 'FAIL', return_msg: expect.stringMatching(/证书/) });
    } finally {
      await sim.stop();
    }
  });
});
