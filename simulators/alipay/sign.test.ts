import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { decodeParams, declaredCharset, encodeForm, CharsetError } from './form.js';
import { generateRsaKeys, sign, verify } from './sign.js';
import { parseMajor, toCny, cnyRefund } from './money.js';
import { parseAlipayTime, beijingDay } from './time.js';

const KEY = '760bdzec6y9goq7ctyx96ezkz78287de';

describe('simulator signing', () => {
  it('matches the public MD5 vectors (docs/protocols/alipay.md, Signature)', () => {
    expect(
      sign({ service: 'forex_rate_file', partner: '2088101122136241', sign_type: 'MD5' }, 'MD5', { md5Key: KEY }),
    ).toBe('4051af1716d522b47acff927d4fb9781');
    expect(
      sign(
        { service: 'forex_compare_file', partner: '2088101122136241', start_date: '20120202', end_date: '20120205' },
        'MD5',
        { md5Key: KEY },
      ),
    ).toBe('3d09abe0980696bb39bb72c6137266ca');
    const notify = {
      _input_charset: 'utf-8',
      currency: 'HKD',
      notify_id: '13f1e773aeb299e26eb5d02bbb71219d50',
      notify_time: '2013-09-02 10:41:43',
      notify_type: 'trade_status_sync',
      out_trade_no: '4028608899131221',
      total_fee: '0.10',
      trade_no: '4061800001000100000574688',
      trade_status: 'TRADE_FINISHED',
    };
    expect(sign(notify, 'MD5', { md5Key: KEY })).toBe('a27572b0a6dee50d2d4a1449bfd55e92');
    expect(verify(notify, 'MD5', 'a27572b0a6dee50d2d4a1449bfd55e92', { md5Key: KEY })).toBe(true);
    expect(verify({ ...notify, total_fee: '1.00' }, 'MD5', 'a27572b0a6dee50d2d4a1449bfd55e92', { md5Key: KEY })).toBe(
      false,
    );
  });

  it('RSA and RSA2 round trip, with the space-for-plus repair', () => {
    const k = generateRsaKeys();
    for (const t of ['RSA', 'RSA2'] as const) {
      for (let i = 0; i < 20; i++) {
        const p = { service: 'x', partner: '2088101122136241', n: String(i) };
        const s = sign(p, t, { privateKey: k.privateKey });
        expect(verify(p, t, s.replace(/\+/g, ' '), { publicKey: k.publicKey })).toBe(true);
        expect(verify({ ...p, n: 'other' }, t, s, { publicKey: k.publicKey })).toBe(false);
      }
    }
  });
});

describe('forms in UTF-8 and GBK', () => {
  it('round-trips Chinese text in both charsets', () => {
    for (const cs of ['UTF-8', 'GBK'] as const) {
      const text = encodeForm({ subject: '奇异果 小店', total_fee: '1.00', _input_charset: cs }, cs);
      expect(declaredCharset(text)).toBe(cs);
      expect(decodeParams([Buffer.from(text).toString('latin1')], cs)).toEqual({
        subject: '奇异果 小店',
        total_fee: '1.00',
        _input_charset: cs,
      });
    }
    expect(encodeForm({ s: '羊毛被' }, 'GBK')).toBe('s=%D1%F2%C3%AB%B1%BB');
  });

  it('refuses GBK bytes declared as UTF-8', () => {
    const raw = Buffer.concat([Buffer.from('subject='), iconv.encode('奇异果', 'gbk')]).toString('latin1');
    expect(() => decodeParams([raw], 'UTF-8')).toThrow(CharsetError);
  });
});

describe('amounts and times', () => {
  it("parses positive amounts with the currency's places only", () => {
    expect(parseMajor('10.00', 'NZD')).toBe(1000);
    expect(parseMajor('0.01', 'NZD')).toBe(1);
    expect(parseMajor('7', 'NZD')).toBe(700);
    expect(parseMajor('1.005', 'NZD')).toBeUndefined();
    expect(parseMajor('0.00', 'NZD')).toBeUndefined();
    expect(parseMajor('-1', 'NZD')).toBeUndefined();
    expect(parseMajor('100', 'JPY')).toBe(100);
  });

  it('converts to CNY half up, and partial refunds add up to the whole', () => {
    expect(toCny(880, 'NZD', '4.2156')).toBe(3710);
    const parts = [cnyRefund(3710, 880, 0, 80), cnyRefund(3710, 880, 80, 400), cnyRefund(3710, 880, 480, 400)];
    expect(parts.reduce((a, b) => a + b, 0)).toBe(3710);
  });

  it('reads Alipay times as Beijing time', () => {
    expect(parseAlipayTime('2026-11-22 08:00:00')).toBe(Date.parse('2026-11-22T00:00:00Z'));
    expect(parseAlipayTime('20261122080000')).toBe(Date.parse('2026-11-22T00:00:00Z'));
    expect(parseAlipayTime('1795306473519')).toBe(1795306473519);
    expect(parseAlipayTime('yesterday')).toBeUndefined();
    expect(beijingDay(Date.parse('2026-11-21T16:30:00Z'))).toBe('20261122');
  });
});
