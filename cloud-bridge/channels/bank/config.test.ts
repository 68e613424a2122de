import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../../protocol/clock.js';
import { money } from '../../../protocol/money.js';
import type { ChannelAccount, ChannelContext } from '../channel.js';
import { BankChannel } from './channel.js';
import { bankAccount } from './config.js';

// PayEase serves the payment form and the merchant APIs from different hosts: two settings.

const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
const channel = new BankChannel();

describe('bank account settings', () => {
  let server: Server;
  const seen: Array<{ host: string; path: string }> = [];
  let api: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ host: req.headers.host ?? '', path: req.url ?? '' });
      res.writeHead(200, { 'content-type': 'text/xml; charset=gb2312' });
      res.end(
        '<?xml version="1.0" encoding="gb2312"?><ordermessage><messagehead><status>2</status><statusdesc>x</statusdesc></messagehead></ordermessage>',
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const account = (config: Record<string, unknown>): ChannelAccount => ({
    id: 'cha_b',
    merchantId: 'm',
    channel: 'bank',
    secrets: { key: 'test' },
    config,
  });

  it('posts the form to payBaseUrl and queries at apiBaseUrl', async () => {
    const a = account({
      payBaseUrl: 'https://pay.example.test/',
      apiBaseUrl: `${api}/`,
      v_mid: '8888',
      publicKey: pem,
    });
    const form = channel.paymentForm(a, {
      channelOrderNo: '20261120-8888-K1',
      pay: money(100, 'CNY'),
      returnUrl: 'http://b/r',
    });
    expect(form.action).toBe('https://pay.example.test/prs/user_payment.checkit');
    const ctx: ChannelContext = {
      account: a,
      clock: systemClock(),
      log: pino({ level: 'silent' }),
      notifyUrl: 'http://b/n',
      publicBaseUrl: 'http://b',
      record: async () => {},
    };
    expect(
      (
        await channel.query(ctx, {
          orderId: 'pay_K1',
          channelOrderNo: '20261120-8888-K1',
          mode: 'bank',
          amount: money(100, 'CNY'),
          createdAt: new Date(),
        })
      ).state,
    ).toBe('pending');
    expect(seen).toEqual([{ host: new URL(api).host, path: '/merchant/order/order_ack_oid_list.jsp' }]);
  });

  it('sends no notify URL in the form: PayEase takes it from the merchant back office', () => {
    const a = account({
      payBaseUrl: 'https://pay.example.test',
      apiBaseUrl: 'https://api.example.test',
      v_mid: '8888',
      publicKey: pem,
    });
    const form = channel.paymentForm(a, {
      channelOrderNo: '20261120-8888-K1',
      pay: money(100, 'CNY'),
      returnUrl: 'http://b/r',
    });
    expect(Object.keys(form.fields)).toEqual([
      'v_mid',
      'v_oid',
      'v_rcvname',
      'v_rcvaddr',
      'v_rcvtel',
      'v_rcvpost',
      'v_amount',
      'v_ymd',
      'v_orderstatus',
      'v_ordername',
      'v_moneytype',
      'v_url',
      'v_md5info',
    ]);
  });

  it('names what is wrong: the old single baseUrl, a missing host, a bad v_mid or key', () => {
    expect(() => bankAccount(account({ baseUrl: 'http://gw', v_mid: '8888', publicKey: pem }))).toThrow(
      /payBaseUrl.*apiBaseUrl/,
    );
    expect(() => bankAccount(account({ payBaseUrl: 'http://gw', v_mid: '8888', publicKey: pem }))).toThrow(
      /apiBaseUrl/,
    );
    expect(() =>
      bankAccount(account({ payBaseUrl: 'http://gw', apiBaseUrl: 'http://api', v_mid: 'x', publicKey: pem })),
    ).toThrow(/v_mid/);
    expect(() =>
      bankAccount(account({ payBaseUrl: 'http://gw', apiBaseUrl: 'http://api', v_mid: '1', publicKey: 'hello' })),
    ).toThrow(/publicKey/);
    expect(() =>
      bankAccount({
        ...account({ payBaseUrl: 'http://gw', apiBaseUrl: 'http://api', v_mid: '1', publicKey: pem }),
        secrets: {},
      }),
    ).toThrow(/key/);
  });

  it('has no statement or rate source unless one is configured (PayEase publishes neither)', async () => {
    const a = account({ payBaseUrl: 'http://gw', apiBaseUrl: 'http://api', v_mid: '1', publicKey: pem });
    const ctx: ChannelContext = {
      account: a,
      clock: systemClock(),
      log: pino({ level: 'silent' }),
      notifyUrl: 'http://b/n',
      publicBaseUrl: 'http://b',
      record: async () => {},
    };
    await expect(channel.fetchStatement(ctx, '2026-11-20')).rejects.toThrow(/statementUrl/);
    await expect(channel.fetchRates(ctx, ['NZD'])).rejects.toThrow(/rateUrl/);
  });
});
