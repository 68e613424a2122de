import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { NotifyRejectedError, type ChannelAccount, type ChannelContext } from '../channel.js';
import { systemClock } from '../../../protocol/clock.js';
import { money } from '../../../protocol/money.js';
import { NOTIFY_ACK, WechatChannel } from './channel.js';
import { sign } from './sign.js';
import { buildWechatXml } from './xml.js';

// The notify endpoint's decisions, without a network (the e2e suite drives the rest).

const KEY = '192006250b4c09247ec02edce69f6a2d';
const account: ChannelAccount = {
  id: 'cha_unit',
  merchantId: 'mch_unit',
  channel: 'wechat',
  config: { apiBaseUrl: 'https://apihk.mch.weixin.qq.com', appid: 'wx2421b1c4370ec43b', mch_id: '10000100' },
  secrets: { apiKey: KEY },
};
const ctx: ChannelContext = {
  account,
  clock: systemClock(),
  log: pino({ level: 'silent' }),
  notifyUrl: 'http://x/notify/wechat/cha_unit',
  publicBaseUrl: 'http://x',
  record: async () => {},
};
const ch = new WechatChannel();

function notifyBody(fields: Record<string, string>, signType: 'MD5' | 'HMAC-SHA256' = 'MD5'): Buffer {
  const f = {
    return_code: 'SUCCESS',
    appid: 'wx2421b1c4370ec43b',
    mch_id: '10000100',
    nonce_str: 'abc',
    sign_type: signType,
    result_code: 'SUCCESS',
    out_trade_no: 'K01',
    transaction_id: '4200001',
    total_fee: '888',
    fee_type: 'NZD',
    cash_fee: '3685',
    cash_fee_type: 'CNY',
    time_end: '20261122081612',
    ...fields,
  };
  return Buffer.from(buildWechatXml({ ...f, sign: sign(f, KEY, signType) }));
}

async function rejection(
  body: Buffer | string,
  method = 'POST',
  c: ChannelContext = ctx,
): Promise<NotifyRejectedError> {
  try {
    await ch.verifyNotify(c, { method, headers: {}, query: {}, body: Buffer.from(body) });
  } catch (err) {
    expect(err).toBeInstanceOf(NotifyRejectedError);
    return err as NotifyRejectedError;
  }
  throw new Error('accepted');
}

function ctxFor(signType: 'MD5' | 'HMAC-SHA256'): ChannelContext {
  return { ...ctx, account: { ...account, config: { ...account.config, signType } } };
}

describe('WeChat notify verification', () => {
  it('takes the algorithm from the account, never from the notify', async () => {
    // An HMAC-SHA256 account must not accept a notify that names MD5 and is MD5-signed.
    const downgrade = await rejection(notifyBody({}, 'MD5'), 'POST', ctxFor('HMAC-SHA256'));
    expect(downgrade.reason).toMatch(/sign_type "MD5" is not this account's configured HMAC-SHA256/);
    expect((await rejection(notifyBody({}, 'HMAC-SHA256'), 'POST', ctxFor('MD5'))).reason).toMatch(/configured MD5/);
    // Without sign_type the account's algorithm is used: an MD5 signature fails an HMAC account.
    const f = {
      return_code: 'SUCCESS',
      appid: 'wx2421b1c4370ec43b',
      mch_id: '10000100',
      nonce_str: 'abc',
      result_code: 'SUCCESS',
      out_trade_no: 'K01',
      transaction_id: '4200001',
      total_fee: '888',
      fee_type: 'NZD',
      time_end: '20261122081612',
    };
    const bare = Buffer.from(buildWechatXml({ ...f, sign: sign(f, KEY, 'MD5') }));
    expect((await rejection(bare, 'POST', ctxFor('HMAC-SHA256'))).reason).toMatch(/sign does not match: HMAC-SHA256/);
  });

  it("accepts a payment signed with the account's algorithm (MD5 or HMAC-SHA256) and answers the exact acknowledgement", async () => {
    for (const t of ['MD5', 'HMAC-SHA256'] as const) {
      const v = await ch.verifyNotify(ctxFor(t), { method: 'POST', headers: {}, query: {}, body: notifyBody({}, t) });
      expect(v.outcomes).toEqual([
        {
          channelOrderNo: 'K01',
          outcome: expect.objectContaining({
            state: 'paid',
            channelTradeNo: '4200001',
            amount: money(888, 'NZD'),
            charged: money(3685, 'CNY'),
          }),
        },
      ]);
      expect(v.ack).toEqual({ status: 200, contentType: 'text/xml; charset=utf-8', body: NOTIFY_ACK });
      expect(v.nack.body).toContain('<return_code><![CDATA[FAIL]]></return_code>');
    }
  });

  it('refuses, naming why: signature, merchant, method, shape, amount', async () => {
    const forged = notifyBody({}).toString().replace('<total_fee><![CDATA[888]]>', '<total_fee><![CDATA[1]]>');
    expect((await rejection(forged)).reason).toMatch(/^notify signature: sign does not match: MD5 over \d+ fields/);
    expect((await rejection(forged)).reply.body).toContain('FAIL');
    expect((await rejection(notifyBody({ mch_id: '999' }))).reason).toMatch(/mch_id 999/);
    expect((await rejection(notifyBody({}), 'GET')).reply.status).toBe(405);
    expect((await rejection(notifyBody({ out_trade_no: '' }))).reason).toMatch(/without out_trade_no/);
    expect((await rejection(notifyBody({ total_fee: '8.88' }))).reason).toMatch(/unreadable amount/);
    expect((await rejection(notifyBody({ return_code: 'FAIL' }))).reason).toMatch(/return_code is "FAIL"/);
    expect((await rejection('<!DOCTYPE x [<!ENTITY a "b">]><xml><a>&a;</a></xml>')).reason).toMatch(/DOCTYPE/);
  });

  it('acknowledges an authentic non-payment without applying anything', async () => {
    const v = await ch.verifyNotify(ctx, {
      method: 'POST',
      headers: {},
      query: {},
      body: notifyBody({ result_code: 'FAIL', err_code: 'PAYERROR' }),
    });
    expect(v.outcomes).toEqual([]);
    expect(v.rejected?.[0]?.reason).toMatch(/PAYERROR/);
    expect(v.ack.body).toBe(NOTIFY_ACK);
  });

  it('refuses payments in a currency the account does not price in', () => {
    expect(() => ch.validateCreate(account, { mode: 'native', amount: money(100, 'USD') })).toThrow(/prices in NZD/);
    expect(() => ch.validateCreate(account, { mode: 'native', amount: money(100, 'NZD') })).not.toThrow();
    expect(ch.presentedCodePolicyFor(account)).toEqual({ pollEveryMs: 5000, giveUpAfterMs: 40000 });
    expect(() =>
      ch.presentedCodePolicyFor({ ...account, config: { ...account.config, micropay: { giveUpAfterMs: 5000 } } }),
    ).toThrow(/config/);
  });
});
