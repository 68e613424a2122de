import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChannelAccount, ChannelContext } from '../../cloud-bridge/channels/channel.js';
import { WechatClient } from '../../cloud-bridge/channels/wechat/client.js';
import { wechatAccount } from '../../cloud-bridge/channels/wechat/config.js';
import { checkSignature, jsapiPayParams } from '../../cloud-bridge/channels/wechat/sign.js';
import { NOTIFY_ACK, WechatChannel } from '../../cloud-bridge/channels/wechat/channel.js';
import { parseWechatXml } from '../../cloud-bridge/channels/wechat/xml.js';
import { closeWechatAgents } from '../../cloud-bridge/channels/wechat/http.js';
import { systemClock } from '../../protocol/clock.js';
import { verifyJsapiParams } from '../../simulators/wechat/jsapi.js';
import { startWechatSim, type WechatSim } from '../../simulators/wechat/server.js';
import { sign as simSign, verify as simVerify } from '../../simulators/wechat/sign.js';
import { buildWechatXml as simBuild, parseWechatXml as simParse } from '../../simulators/wechat/xml.js';

// The WeChat part of the wire corpus (test/fixtures/wire/wechat, SOURCES.md there): every
// message Kauri sends or receives, written to the structure of WeChat's published
// examples. Kauri's client must read every one, and every simulator answer must have the
// shape of the corpus message of the same call: its fields (required and optional), one
// field per line, and the same CDATA-or-bare encoding of each field.

const DIR = new URL('../fixtures/wire/wechat/', import.meta.url);
const KEY = '192006250b4c09247ec02edce69f6a2d'; // the demo key of WeChat's signature example
interface Entry {
  call: string;
  kind: 'request' | 'answer' | 'answer-fail' | 'refused' | 'notify' | 'reply' | 'bill' | 'jsapi';
  signed: boolean;
  optional: string[];
}
const manifest = JSON.parse(readFileSync(new URL('corpus.json', DIR), 'utf8')) as Record<string, Entry>;
const fixture = (name: string) => readFileSync(new URL(name, DIR), 'utf8');

interface Shape {
  fields: string[];
  cdata: Record<string, boolean>;
  onePerLine: boolean;
}
function shape(xml: string): Shape {
  const body = /^\s*<xml>([\s\S]*)<\/xml>\s*$/.exec(xml)![1]!;
  const fields: string[] = [];
  const cdata: Record<string, boolean> = {};
  for (const m of body.matchAll(/<(\w+)>(<!\[CDATA\[[\s\S]*?\]\]>|[^<]*)<\/\1>/g)) {
    fields.push(m[1]!);
    cdata[m[1]!] = m[2]!.startsWith('<![CDATA[');
  }
  // A line break after every field (WeChat's examples indent too; real captures do not).
  const onePerLine = body
    .replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '')
    .split(/<\/\w+>/)
    .slice(1)
    .every((gap) => /^[ \t]*\r?\n/.test(gap));
  return { fields, cdata, onePerLine };
}

function expectSameShape(ours: string, name: string): void {
  const entry = manifest[name]!;
  const want = shape(fixture(name));
  const got = shape(ours);
  const optional = new Set([...entry.optional, 'sign_type']);
  expect(
    want.fields.filter((f) => !optional.has(f) && !got.fields.includes(f)),
    `${name}: fields the simulator left out`,
  ).toEqual([]);
  expect(
    got.fields.filter((f) => !want.fields.includes(f) && !optional.has(f)),
    `${name}: fields the corpus does not have`,
  ).toEqual([]);
  for (const f of got.fields.filter((x) => want.fields.includes(x)))
    expect(got.cdata[f], `${name}: <${f}> CDATA or bare`).toBe(want.cdata[f]);
  expect(got.onePerLine, `${name}: one field per line`).toBe(want.onePerLine);
}

/** The page an mweb_url opens and the names of its parameters (the values are per order). */
function mwebLink(url: string): { path: string; params: string[] } {
  const u = new URL(url);
  return { path: u.pathname, params: [...u.searchParams.keys()] };
}

const account: ChannelAccount = {
  id: 'cha_corpus',
  merchantId: 'mch_corpus',
  channel: 'wechat',
  config: { apiBaseUrl: 'https://apihk.mch.weixin.qq.com', appid: 'wx2421b1c4370ec43b', mch_id: '10000100' },
  secrets: { apiKey: KEY },
};
const ctx: ChannelContext = {
  account,
  clock: systemClock(),
  log: pino({ level: 'silent' }),
  notifyUrl: 'http://127.0.0.1/notify',
  publicBaseUrl: 'http://127.0.0.1',
  record: async () => {},
};

describe('the WeChat wire corpus, read by Kauri', () => {
  const names = readdirSync(DIR).filter((n) => n.endsWith('.xml'));

  it('lists every file in its manifest and SOURCES.md', () => {
    const sources = fixture('SOURCES.md');
    for (const n of readdirSync(DIR).filter((x) => x !== 'corpus.json' && x !== 'SOURCES.md')) {
      expect(manifest[n], n).toBeDefined();
      expect(sources, n).toContain(n);
    }
  });

  it('has a reader for every file that is not XML (the XML files are all read below)', () => {
    const readers = [
      import.meta.url,
      new URL('../../cloud-bridge/reconcile/convertors/wechat.test.ts', import.meta.url).href,
      new URL('../../simulators/wechat/bill.test.ts', import.meta.url).href,
    ]
      .map((u) => readFileSync(new URL(u), 'utf8'))
      .join('\n');
    for (const n of readdirSync(DIR).filter((x) => !/\.xml$|^corpus\.json$|^SOURCES\.md$/.test(x))) {
      const bill = /^downloadbill-all-(.+)\.csv$/.exec(n)?.[1];
      // The bill tests name their files by layout: downloadbill-all-${layout}.csv.
      expect(readers.includes(`'${n}'`) || (bill !== undefined && readers.includes(`'${bill}'`)), n).toBe(true);
    }
  });

  it.each(names)('%s: parsed, and its signature verifies with the demo key', (name) => {
    const entry = manifest[name]!;
    const f = parseWechatXml(fixture(name));
    expect(Object.keys(f)).not.toContain('#text');
    expect(Object.keys(f).length).toBeGreaterThan(0);
    if (entry.signed) expect(checkSignature(f, KEY, 'MD5')).toEqual({ ok: true });
    if (entry.kind === 'request') expect(simVerify(simParse(Buffer.from(fixture(name))), KEY, 'MD5')).toBe(true);
    if (entry.kind.startsWith('answer') || entry.kind === 'refused') {
      const client = new WechatClient(wechatAccount(account), ctx);
      expect(client.read(entry.call, Buffer.from(fixture(name))).kind).toBe(
        entry.kind === 'refused' ? 'refused' : 'answered',
      );
    }
  });

  it('jsapi.getBrandWCPayRequest.json: Kauri builds the same object, key for key in the same order', () => {
    const published = JSON.parse(fixture('jsapi.getBrandWCPayRequest.json')) as Record<string, string>;
    const built = jsapiPayParams(
      {
        appId: published.appId!,
        timeStamp: published.timeStamp!,
        nonceStr: published.nonceStr!,
        prepayId: published.package!.replace(/^prepay_id=/, ''),
        signType: 'MD5',
      },
      KEY,
    );
    expect(JSON.stringify(built, null, 2) + '\n').toBe(fixture('jsapi.getBrandWCPayRequest.json'));
    // The simulator's wallet checks paySign over exactly these fields.
    expect(verifyJsapiParams(published, KEY)).toBeUndefined();
    expect(verifyJsapiParams({ ...published, package: 'prepay_id=wx0' }, KEY)).toBe('paySign does not match');
  });

  it('notify.payment.xml is a verified payment; notify.ack.xml is the acknowledgement Kauri sends', async () => {
    const v = await new WechatChannel().verifyNotify(ctx, {
      method: 'POST',
      headers: {},
      query: {},
      body: Buffer.from(fixture('notify.payment.xml')),
    });
    expect(v.outcomes[0]).toMatchObject({
      channelOrderNo: 'K01',
      outcome: { state: 'paid', channelTradeNo: '4200000001202611200000000001' },
    });
    expect(fixture('notify.ack.xml')).toBe(NOTIFY_ACK);
  });
});

describe('the WeChat simulator, against the corpus', () => {
  let sim: WechatSim;
  let hook: Server;
  const notifies: string[] = [];
  let hookUrl = '';

  beforeAll(async () => {
    sim = await startWechatSim({ port: 0, log: pino({ level: 'silent' }) });
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        notifies.push(body);
        res.end(NOTIFY_ACK);
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/notify`;
  });
  afterAll(async () => {
    await sim?.close();
    await new Promise((r) => hook?.close(r));
  });

  /** The corpus request of `name`, with `change` applied, signed again and sent. */
  async function send(
    name: string,
    change: Record<string, string | undefined> = {},
    opts: { key?: string } = {},
  ): Promise<string> {
    const f: Record<string, string> = simParse(Buffer.from(fixture(name)));
    delete f.sign;
    for (const [k, v] of Object.entries(change)) {
      if (v === undefined) delete f[k];
      else f[k] = v;
    }
    f.sign = simSign(f, opts.key ?? KEY, 'MD5');
    const path = manifest[name]!.call;
    const res = await sim.app.inject({ method: 'POST', url: path, payload: simBuild(f) });
    return res.body;
  }

  it('answers every call in the shape of the corpus', async () => {
    const K01 = `C${Date.now()}`;
    expectSameShape(
      await send('unifiedorder.request.xml', {
        out_trade_no: K01,
        product_id: K01,
        notify_url: hookUrl,
        time_expire: undefined,
      }),
      'unifiedorder.answer.success.xml',
    );
    expectSameShape(
      await send('unifiedorder.request.xml', {
        out_trade_no: `${K01}J`,
        trade_type: 'JSAPI',
        product_id: undefined,
        openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
        notify_url: hookUrl,
        time_expire: undefined,
      }),
      'unifiedorder.answer.jsapi.xml',
    );
    // H5 (MWEB): the published request as it stands (its openid and attach included).
    const mweb = await send('unifiedorder.mweb.request.xml', {
      out_trade_no: `${K01}H`,
      notify_url: hookUrl,
      time_expire: undefined,
    });
    expectSameShape(mweb, 'unifiedorder.answer.mweb.xml');
    expect(mwebLink(simParse(Buffer.from(mweb)).mweb_url!), 'mweb_url: path and parameters').toEqual(
      mwebLink(simParse(Buffer.from(fixture('unifiedorder.answer.mweb.xml'))).mweb_url!),
    );
    expectSameShape(
      await send('unifiedorder.request.xml', {}, { key: 'f'.repeat(32) }),
      'unifiedorder.answer.refused.xml',
    );
    expectSameShape(await send('orderquery.request.xml', { out_trade_no: K01 }), 'orderquery.answer.notpay.xml');
    expectSameShape(await send('orderquery.request.xml', { out_trade_no: 'NOPE' }), 'orderquery.answer.notexist.xml');
    expectSameShape(await send('closeorder.request.xml', { out_trade_no: `${K01}J` }), 'closeorder.answer.success.xml');

    sim.gateway.simPay({ out_trade_no: K01 });
    await expect.poll(() => notifies.length, { timeout: 10_000 }).toBeGreaterThan(0);
    expectSameShape(notifies[0]!, 'notify.payment.xml');
    // Fields in ASCII order, as WeChat's example lists them.
    const order = shape(notifies[0]!).fields;
    expect(order).toEqual([...order].sort());
    expectSameShape(await send('orderquery.request.xml', { out_trade_no: K01 }), 'orderquery.answer.success.xml');
    expectSameShape(
      await send('unifiedorder.request.xml', {
        out_trade_no: K01,
        product_id: K01,
        notify_url: hookUrl,
        time_expire: undefined,
      }),
      'unifiedorder.answer.orderpaid.xml',
    );

    expectSameShape(
      await send('refund.request.xml', { out_trade_no: K01, out_refund_no: `${K01}R` }),
      'refund.answer.success.xml',
    );
    expectSameShape(
      await send('refundquery.request.xml', { out_refund_no: `${K01}R` }),
      'refundquery.answer.success.xml',
    );
    expectSameShape(
      await send('refundquery.request.xml', { out_refund_no: 'NOPE' }),
      'refundquery.answer.notexist.xml',
    );

    const K02 = `${K01}M`;
    expectSameShape(
      await send('micropay.request.xml', {
        out_trade_no: K02,
        auth_code: sim.gateway.mintPaycode('success').auth_code,
      }),
      'micropay.answer.success.xml',
    );
    expectSameShape(
      await send('micropay.request.xml', {
        out_trade_no: `${K02}U`,
        auth_code: sim.gateway.mintPaycode('userpaying:5').auth_code,
      }),
      'micropay.answer.userpaying.xml',
    );
    // Within 15 s of the order WeChat answers "call again"; after them, the reverse.
    expectSameShape(await send('reverse.request.xml', { out_trade_no: K02 }), 'reverse.answer.systemerror.xml');
    await sim.app.inject({
      method: 'POST',
      url: '/sim/clock',
      payload: JSON.stringify({ now: new Date(Date.now() + 20_000).toISOString() }),
    });
    expectSameShape(await send('reverse.request.xml', { out_trade_no: K02 }), 'reverse.answer.success.xml');

    const day = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10).replace(/-/g, '');
    expectSameShape(await send('queryexchagerate.request.xml', { date: day }), 'queryexchagerate.answer.success.xml');
    expectSameShape(
      await send('queryexchagerate.request.xml', { date: day, fee_type: 'XXX' }),
      'queryexchagerate.answer.refused.xml',
    );
    const old = new Date(Date.now() + 8 * 3600_000 - 20 * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
    expectSameShape(await send('downloadbill.request.xml', { bill_date: old }), 'downloadbill.answer.no-bill.xml');
  });
});

describe("Kauri's H5 order, against a server answering with the corpus", () => {
  let server: Server;
  let base = '';
  const requests: string[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        requests.push(body);
        res.writeHead(200, { 'content-type': 'text/xml' }).end(fixture('unifiedorder.answer.mweb.xml'));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await closeWechatAgents();
    await new Promise((r) => server?.close(r));
  });

  it('sends the fields of the published request and sends the payer to its mweb_url', async () => {
    const h5: ChannelContext = {
      ...ctx,
      publicBaseUrl: 'https://bridge.example.nz',
      account: { ...account, config: { ...account.config, apiBaseUrl: base } },
    };
    const out = await new WechatChannel().create(h5, {
      orderId: 'pay_corpus',
      channelOrderNo: 'K03',
      mode: 'h5',
      amount: { minor: 1234, currency: 'NZD' },
      description: 'Kiwifruit boxed',
      clientIp: '14.23.150.211',
      returnUrl: 'https://bridge.example.nz/r/pay_corpus',
      expiresAt: new Date(Date.now() + 900_000),
      createdAt: new Date(),
    });
    const published = simParse(Buffer.from(fixture('unifiedorder.answer.mweb.xml'))).mweb_url!;
    expect(out).toMatchObject({
      state: 'pending',
      redirectUrl: `${published}&redirect_url=${encodeURIComponent('https://bridge.example.nz/r/pay_corpus')}`,
    });

    const sent = simParse(Buffer.from(requests.at(-1)!));
    const want = simParse(Buffer.from(fixture('unifiedorder.mweb.request.xml')));
    const optional = new Set(manifest['unifiedorder.mweb.request.xml']!.optional);
    expect(
      Object.keys(want).filter((k) => !optional.has(k) && !(k in sent)),
      'fields Kauri left out',
    ).toEqual([]);
    expect(
      Object.keys(sent).filter((k) => !(k in want) && !optional.has(k)),
      'fields the published request does not have',
    ).toEqual([]);
    expect(sent).toMatchObject({ trade_type: 'MWEB', spbill_create_ip: '14.23.150.211', fee_type: 'NZD' });
    // The same scene as the published one, whatever the JSON's spacing.
    expect(JSON.parse(sent.scene_info!)).toEqual(JSON.parse(want.scene_info!));
  });
});
