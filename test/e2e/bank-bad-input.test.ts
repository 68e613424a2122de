import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeForm } from '../../cloud-bridge/channels/bank/form.js';
import { hmacMd5, rsaMd5Sign } from '../../cloud-bridge/channels/bank/sign.js';
import {
  startBankBridge,
  startBankSimProcess,
  uniqueNo,
  waitFor,
  type BankBridge,
  type BankSimProcess,
} from './bank-support.js';

// What the bank channel refuses: forged and tampered notifies, a batch with one bad order
// among good ones, a paid CNY amount other than the quote, stale rates, stale quotes.

let sim: BankSimProcess;
let b: BankBridge;
let gatewayKey: KeyObject;

beforeAll(async () => {
  sim = await startBankSimProcess({ KAURI_TIME_SCALE: '10' });
  b = await startBankBridge(sim, { timeScale: 20 });
  await b.bridge.fx.pullAll();
  gatewayKey = sim.privateKey();
});

afterAll(async () => {
  await b?.stop();
  await sim?.stop();
});

interface Item {
  oid: string;
  amount: string;
  pstatus?: string;
  moneytype?: string;
}

/** A notify as the gateway sends it (B5), signed with `key` (the gateway's unless forged). */
function notifyBody(
  items: Item[],
  opts: { key?: KeyObject; hmacKey?: string; tamper?: (f: Record<string, string>) => void } = {},
): string {
  const j = (f: (i: Item) => string) => items.map(f).join('|_|');
  const f: Record<string, string> = {
    v_oid: j((i) => i.oid),
    v_pmode: j(() => '招商银行'),
    v_pstatus: j((i) => i.pstatus ?? '1'),
    v_pstring: j(() => '支付完成'),
    v_amount: j((i) => i.amount),
    v_moneytype: j((i) => i.moneytype ?? '0'),
    v_count: String(items.length),
  };
  const key = opts.hmacKey ?? 'test';
  f.v_mac = hmacMd5(key, f.v_oid! + f.v_pmode! + f.v_pstatus! + f.v_pstring! + f.v_count!);
  f.v_md5money = hmacMd5(key, f.v_amount! + f.v_moneytype!);
  f.v_sign = rsaMd5Sign(opts.key ?? gatewayKey, f.v_oid! + f.v_pstatus! + f.v_amount! + f.v_moneytype! + f.v_count!);
  opts.tamper?.(f);
  return encodeForm(f);
}

async function postNotify(body: string): Promise<string> {
  const res = await fetch(`${b.bridge.url}/notify/bank/${b.accountId}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body,
  });
  return (await res.text()).trim();
}

async function pending(amountMinor = 10_000): Promise<{ no: string; oid: string; cny: string }> {
  const no = uniqueNo('X');
  const c = await b.api('POST', '/api/v1/payments', {
    out_trade_no: no,
    amount_minor: amountMinor,
    currency: 'NZD',
    channel: 'bank',
    mode: 'bank',
  });
  expect(c.status).toBeLessThan(300);
  return { no, oid: c.body.redirect_url.split('/').pop(), cny: (c.body.cny_quote_minor / 100).toFixed(2) };
}

const status = async (no: string) => (await b.api('GET', `/api/v1/payments/${no}`)).body;

describe('bank notifies that must not pay anything', () => {
  it('a forged v_sign (another RSA key) is refused with "error"', async () => {
    const p = await pending();
    const forger = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
    expect(await postNotify(notifyBody([{ oid: p.oid, amount: p.cny }], { key: forger }))).toBe('error');
    expect((await status(p.no)).status).toBe('pending');
  });

  it('a tampered amount (signatures of the real amount) is refused', async () => {
    const p = await pending();
    const body = notifyBody([{ oid: p.oid, amount: p.cny }], {
      tamper: (f) => {
        f.v_amount = '0.01';
      },
    });
    expect(await postNotify(body)).toBe('error');
    expect(await postNotify(notifyBody([{ oid: p.oid, amount: p.cny }], { hmacKey: 'not-the-key' }))).toBe('error');
    expect((await status(p.no)).status).toBe('pending');
  });

  it('a correctly signed payment of another CNY amount than quoted is a difference, never a success', async () => {
    const p = await pending();
    const wrong = (Number(p.cny) - 1).toFixed(2);
    expect(await postNotify(notifyBody([{ oid: p.oid, amount: wrong }]))).toBe('error');
    const s = await status(p.no);
    expect(s.status).toBe('pending');
    expect(s.flagged).toBe(true);
    expect(s.flag_reason).toMatch(/CNY/);
  });

  it('a batch with one bad order among good ones: the good ones apply, the bad one is rejected, the batch is acknowledged', async () => {
    const good1 = await pending(12_000);
    const good2 = await pending(13_000);
    const other = { oid: good1.oid.replace('-8888-', '-9999-'), amount: '1.00' }; // not this merchant's
    const usd = await pending(14_000);
    const body = notifyBody([
      { oid: good1.oid, amount: good1.cny },
      other,
      { oid: usd.oid, amount: usd.cny, moneytype: '1' },
      { oid: good2.oid, amount: good2.cny },
    ]);
    expect(await postNotify(body)).toBe('sent');
    expect((await status(good1.no)).status).toBe('paid');
    expect((await status(good2.no)).status).toBe('paid');
    expect((await status(usd.no)).status).toBe('pending');
    // A repeat of the same batch changes nothing and is acknowledged again.
    expect(await postNotify(body)).toBe('sent');
  });

  it('a garbled notify (group counts that do not match v_count) is refused', async () => {
    const p = await pending();
    const body = notifyBody([{ oid: p.oid, amount: p.cny }], {
      tamper: (f) => {
        f.v_count = '2';
        f.v_sign = rsaMd5Sign(gatewayKey, f.v_oid! + f.v_pstatus! + f.v_amount! + f.v_moneytype! + '2');
        f.v_mac = hmacMd5('test', f.v_oid! + f.v_pmode! + f.v_pstatus! + f.v_pstring! + '2');
      },
    });
    expect(await postNotify(body)).toBe('error');
    expect(await postNotify('')).toBe('error');
  });
});

describe('rates and quotes the bank channel refuses', () => {
  it('an unknown, foreign or expired quote_id is refused and creates nothing', async () => {
    const bad = await b.api('POST', '/api/v1/payments', {
      out_trade_no: uniqueNo('QQ'),
      amount_minor: 1000,
      currency: 'NZD',
      channel: 'bank',
      mode: 'bank',
      quote_id: 'qt_nope',
    });
    expect(bad.status).toBe(400);
    const q = (await b.api('GET', '/api/v1/fx/quote?channel=bank&amount_minor=1000&currency=NZD')).body;
    const other = await b.api('POST', '/api/v1/payments', {
      out_trade_no: uniqueNo('QQ'),
      amount_minor: 1001,
      currency: 'NZD',
      channel: 'bank',
      mode: 'bank',
      quote_id: q.quote_id,
    });
    expect(other.status).toBe(400);
    expect(other.body.error.message).toMatch(/not NZD 1001/);
    b.clock.advance(11 * 60_000);
    try {
      const no = uniqueNo('QE');
      const expired = await b.api('POST', '/api/v1/payments', {
        out_trade_no: no,
        amount_minor: 1000,
        currency: 'NZD',
        channel: 'bank',
        mode: 'bank',
        quote_id: q.quote_id,
      });
      expect(expired.status).toBe(409);
      expect(expired.body.error.code).toBe('quote_expired');
      expect((await b.api('GET', `/api/v1/payments/${no}`)).status).toBe(404);
    } finally {
      b.clock.advance(-11 * 60_000);
    }
  });

  it('bad quote requests are refused clearly', async () => {
    for (const qs of [
      'channel=bank&amount_minor=0&currency=NZD',
      'channel=bank&amount_minor=12.5&currency=NZD',
      'channel=cash&amount_minor=1&currency=NZD',
      'channel=bank&amount_minor=100&currency=XXX',
    ]) {
      const r = await b.api('GET', `/api/v1/fx/quote?${qs}`);
      expect(r.status, qs).toBe(400);
      expect(r.body.error.code).toMatch(/^[a-z_]+$/);
    }
    const noKey = await fetch(`${b.bridge.url}/api/v1/fx/quote?channel=bank&amount_minor=100&currency=NZD`);
    expect(noKey.status).toBe(401);
  });

  it('a stale bank rate (the simulator clock two hours back) is refused with a clear message', async () => {
    const before = (await sim.control('GET', '/sim/clock')).body;
    await sim.control('POST', '/sim/clock', { now: new Date(Date.now() - 2 * 3_600_000).toISOString() });
    try {
      // Fetch the stale rate once with the full timeout, so a quote's own short refresh timing out on a
      // loaded machine (which keeps the last good rate, by design) cannot leave a fresh rate in front.
      expect((await b.bridge.fx.pullAll(['bank'])).ok.length).toBeGreaterThan(0);
      const quote = await b.api('GET', '/api/v1/fx/quote?channel=bank&amount_minor=1234567&currency=NZD');
      expect(quote.status).toBe(503);
      expect(quote.body.error.code).toBe('rate_stale');
      expect(quote.body.error.message).toMatch(/published at .* ago, beyond the 60 min limit/);
      const no = uniqueNo('STALE');
      const created = await b.api('POST', '/api/v1/payments', {
        out_trade_no: no,
        amount_minor: 1234567,
        currency: 'NZD',
        channel: 'bank',
        mode: 'bank',
      });
      expect(created.status).toBe(503);
      expect(created.body.error.code).toBe('rate_stale');
      expect((await b.api('GET', `/api/v1/payments/${no}`)).status).toBe(404);
    } finally {
      await sim.control('POST', '/sim/clock', { now: new Date(Date.now() + before.offset_ms).toISOString() });
    }
    // Fresh again: quoting works at once.
    expect((await b.api('GET', '/api/v1/fx/quote?channel=bank&amount_minor=1234567&currency=NZD')).status).toBe(200);
  });

  it('wallet estimates say "rate unavailable" rather than show a stale or missing number', async () => {
    const r = await b.api('GET', '/api/v1/fx/quote?channel=wechat&amount_minor=1000&currency=NZD');
    expect(r.status).toBe(503);
    expect(r.body.error).toMatchObject({ code: 'rate_unavailable' });
    expect(r.body.error.message).toMatch(/^rate unavailable/);
    expect(await b.bridge.fx.walletEstimates({ minor: 1000, currency: 'NZD' })).toEqual({
      wechat: { unavailable: 'rate unavailable' },
      alipay: { unavailable: 'rate unavailable' },
    });
  });
});

describe('a paid order is kept even if reported again', () => {
  it('duplicate notifies for a paid order are acknowledged and change nothing', async () => {
    const p = await pending();
    const body = notifyBody([{ oid: p.oid, amount: p.cny }]);
    expect(await postNotify(body)).toBe('sent');
    const first = await waitFor('paid', async () => {
      const s = await status(p.no);
      return s.status === 'paid' ? s : undefined;
    });
    expect(await postNotify(body)).toBe('sent');
    expect((await status(p.no)).paid_at).toBe(first.paid_at);
  });
});
