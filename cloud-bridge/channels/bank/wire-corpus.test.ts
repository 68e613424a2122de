import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../protocol/clock.js';
import { money } from '../../../protocol/money.js';
import type { ChannelAccount, ChannelContext, RefundRequest } from '../channel.js';
import { BANK_PATHS, BankChannel } from './channel.js';
import { bankAccount } from './config.js';
import { decodeForm } from './form.js';
import {
  listedRefundOutcome,
  queryOutcome,
  querySignSource,
  readQueryReply,
  readRefundReply,
  refundOutcome,
  refundSignSource,
} from './outcomes.js';
import { verifyReturn } from './pages.js';
import { readRefundList, verifyRefundEntry } from './refund-list.js';
import { hmacMd5, rsaMd5Verify } from './sign.js';
import { parseBankXml } from './xml.js';

// The client reads every message of test/fixtures/wire/bank (real-shaped PayEase messages,
// SOURCES.md), and what it sends is byte for byte the fixture of the same call.

const DIR = join(import.meta.dirname, '../../../test/fixtures/wire/bank');
const fixture = (name: string) => readFileSync(join(DIR, name));
// The key DurianBundle's PayEase tests publish; the gateway key is the corpus's demo key.
const KEY = 'Xke1a0TqZE2Q8ku943LgC425247y3zuu09vLh78S4U0142rp60h3s6egNY3j';
const MID = '10012150139';
const OID = '20140424-10012150139-201405120018316114';

const channel = new BankChannel();
const bodies = new Map<string, Buffer>();
let server: Server;
let account: ChannelAccount;
let ctx: ChannelContext;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      bodies.set(path, Buffer.concat(chunks));
      const answer = {
        [BANK_PATHS.query]: 'query.response.xml',
        [BANK_PATHS.refund]: 'refund.response.xml',
        [BANK_PATHS.refundList]: 'refund-list.response.xml',
      }[path];
      if (!answer) return res.writeHead(404).end();
      res
        .writeHead(200, {
          'content-type': `text/xml; charset=${answer.startsWith('refund-list') ? 'UTF-8' : 'gb2312'}`,
        })
        .end(fixture(answer));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  account = {
    id: 'cha_wire',
    merchantId: 'm',
    channel: 'bank',
    secrets: { key: KEY },
    config: {
      payBaseUrl: 'https://pay.yizhifubj.com',
      apiBaseUrl: api,
      v_mid: MID,
      publicKey: fixture('demo-gateway-public.pem').toString(),
    },
  };
  ctx = {
    account,
    clock: systemClock(),
    log: pino({ level: 'silent' }),
    notifyUrl: 'http://b/notify/bank/cha_wire',
    publicBaseUrl: 'http://b',
    record: async () => {},
  };
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const ref = {
  orderId: 'pay_1',
  channelOrderNo: OID,
  mode: 'bank' as const,
  amount: money(100, 'CNY'),
  payAmount: money(100, 'CNY'),
  createdAt: new Date(),
};

describe('PayEase wire corpus, read and written by the client', () => {
  it('payment form: the same fields in the same order, and the published v_md5info vector', () => {
    const f = decodeForm(fixture('payment-form.request.txt'));
    expect(f.v_md5info).toBe('7ee1a6916aab179b41df26ecc4c6c788');
    expect(hmacMd5(KEY, f.v_moneytype! + f.v_ymd! + f.v_amount! + f.v_rcvname! + f.v_oid! + f.v_mid! + f.v_url!)).toBe(
      f.v_md5info,
    );
    const ours = channel.paymentForm(account, { channelOrderNo: OID, pay: money(100, 'CNY'), returnUrl: f.v_url! });
    expect(Object.keys(ours.fields)).toEqual(Object.keys(f));
    expect(ours.action).toBe('https://pay.yizhifubj.com/prs/user_payment.checkit');
  });

  it('browser return: verified, and read as paid', () => {
    const r = verifyReturn(account, fixture('browser-return.query.txt').toString('latin1'));
    expect(r).toMatchObject({ ok: true, said: 'PAID', vOid: OID, vAmount: '1.00' });
    expect(decodeForm(fixture('browser-return.query.txt')).v_md5money).toBe('e9101cd8e9af19090b48eec7bdce8b38');
  });

  it('background notify: a batch of two, one paid and one refused, acknowledged with "sent"', async () => {
    const v = await channel.verifyNotify(ctx, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      query: {},
      body: fixture('notify.request.txt'),
    });
    expect(v.rejected).toEqual([]);
    expect(v.outcomes.map((o) => [o.channelOrderNo, o.outcome.state])).toEqual([
      [OID, 'paid'],
      ['20140424-10012150139-201405120018316115', 'pending'],
    ]);
    expect(v.ack.body).toBe(fixture('notify.response.txt').toString());
  });

  it("order query: the request is the fixture's bytes; the answer reads as paid, a missing order as pending", async () => {
    expect(await channel.query(ctx, ref)).toMatchObject({ state: 'paid', charged: money(100, 'CNY') });
    expect(bodies.get(BANK_PATHS.query)!.toString()).toBe(fixture('query.request.txt').toString());
    const found = readQueryReply(parseBankXml(fixture('query.response.xml')));
    expect(found.order?.pmode).toBe('招商银行');
    expect(rsaMd5Verify(bankAccount(account).publicKey, querySignSource(found.order!), found.order!.sign)).toBe(true);
    expect(queryOutcome(readQueryReply(parseBankXml(fixture('query-not-found.response.xml'))), OID, false).state).toBe(
      'pending',
    );
  });

  it("refund and the refund list: requests are the fixtures' bytes, answers read and verified", async () => {
    const req: RefundRequest = { order: ref, channelRefundNo: 'R1', amount: money(50, 'CNY'), reason: '退货' };
    const out = await channel.refund(ctx, req);
    expect(bodies.get(BANK_PATHS.refundList)!.toString()).toBe(fixture('refund-list.request.txt').toString());
    expect(bodies.get(BANK_PATHS.refund)!.toString()).toBe(fixture('refund.request.txt').toString());
    expect(out).toMatchObject({ state: 'succeeded', channelRefundId: '1920055' });
    const reply = readRefundReply(parseBankXml(fixture('refund.response.xml')));
    expect(
      refundOutcome(reply, rsaMd5Verify(bankAccount(account).publicKey, refundSignSource(reply), reply.sign)).state,
    ).toBe('succeeded');
    const list = readRefundList(fixture('refund-list.response.xml'))!;
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ refid: '1920055', refamount: '0.50', refreason: 'R1 退货', refstatus: '1' });
    expect(
      listedRefundOutcome(
        list[0]!.refid,
        list[0]!.refstatus,
        verifyRefundEntry(bankAccount(account).publicKey, OID, list[0]!),
      ).state,
    ).toBe('succeeded');
    expect(await channel.queryRefund(ctx, req)).toMatchObject({ state: 'succeeded', channelRefundId: '1920055' });
  });
});
