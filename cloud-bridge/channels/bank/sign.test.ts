import { createHash, createHmac, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { money } from '../../../protocol/money.js';
import type { ChannelAccount } from '../channel.js';
import { payableCny } from './amounts.js';
import { BankChannel } from './channel.js';
import { chinaYmd } from './outcomes.js';
import { decodeForm, encodeForm } from './form.js';
import { hmacMd5, macMatches, md5Hex, parseGatewayPublicKey, rsaMd5Sign, rsaMd5Verify, sameHex } from './sign.js';

const KEY = 'Xke1a0TqZE2Q8ku943LgC425247y3zuu09vLh78S4U0142rp60h3s6egNY3j';

describe('HMAC-MD5, the public PayEase vectors (algorithm: docs/protocols/payease-bank.md, Signatures)', () => {
  it('v_md5info of a payment request', () => {
    const data =
      '0' +
      '20140424' +
      '1.00' +
      '' +
      '20140424-10012150139-201405120018316114' +
      '10012150139' +
      'http://esball.org/app/member/pay_online2/pay_result.php?pay_system=12345&hallid=6';
    expect(hmacMd5(KEY, data)).toBe('7ee1a6916aab179b41df26ecc4c6c788');
  });
  it('v_md5money', () => {
    expect(hmacMd5(KEY, '1.00' + '0')).toBe('e9101cd8e9af19090b48eec7bdce8b38');
  });
});

describe('RSA_MD5 v_sign with generated keys', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const jwk = publicKey.export({ format: 'jwk' });
  const hex = (s: string) => Buffer.from(s, 'base64url').toString('hex');
  it('verifies with the PEM and with the PayEase key file text', () => {
    const src = '20261120-8888-K1' + '1' + '53329.60' + '0' + '1';
    const sig = rsaMd5Sign(privateKey, src);
    for (const text of [
      publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      `m=${hex(jwk.n!)};e=${hex(jwk.e!)};`,
    ]) {
      const pk = parseGatewayPublicKey(text);
      expect(rsaMd5Verify(pk, src, sig)).toBe(true);
      expect(rsaMd5Verify(pk, src, sig.toUpperCase())).toBe(true);
      expect(rsaMd5Verify(pk, src.replace('53329.60', '53329.61'), sig)).toBe(false);
    }
  });
  it('refuses a key that is neither', () => {
    expect(() => parseGatewayPublicKey('hello')).toThrow(/PEM/);
  });
});

describe('the payment form', () => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const account: ChannelAccount = {
    id: 'cha_1',
    merchantId: 'm',
    channel: 'bank',
    secrets: { key: 'test' },
    config: {
      payBaseUrl: 'http://pay.example/',
      apiBaseUrl: 'http://api.example',
      v_mid: '8888',
      publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    },
  };
  const channel = new BankChannel();
  it('numbers orders yyyymmdd-v_mid-serial in China time', () => {
    expect(channel.orderNumber('pay_01ABC', new Date('2026-11-20T16:30:00Z'), account)).toBe('20261121-8888-01ABC');
    expect(chinaYmd(new Date('2026-11-20T15:59:59Z'))).toBe('20261120');
  });
  it('signs v_md5info over the documented field order', () => {
    const f = channel.paymentForm(account, {
      channelOrderNo: '20261120-8888-01ABC',
      pay: money(5332960, 'CNY'),
      returnUrl: 'http://b/r',
    });
    expect(f.action).toBe('http://pay.example/prs/user_payment.checkit');
    expect(f.fields).toMatchObject({
      v_mid: '8888',
      v_oid: '20261120-8888-01ABC',
      v_amount: '53329.60',
      v_ymd: '20261120',
      v_moneytype: '0',
      v_url: 'http://b/r',
    });
    expect(f.fields.v_md5info).toBe(
      hmacMd5('test', '0' + '20261120' + '53329.60' + '8888' + '20261120-8888-01ABC' + '8888' + 'http://b/r'),
    );
  });
  it('charges CNY only', () => {
    expect(payableCny(money(100, 'NZD'), money(425, 'CNY'))).toEqual(money(425, 'CNY'));
    expect(payableCny(money(100, 'CNY'))).toEqual(money(100, 'CNY'));
    expect(() => payableCny(money(100, 'NZD'))).toThrow(/CNY only/);
  });
});

describe('GBK forms', () => {
  it('round-trip Chinese values as the gateway encodes them', () => {
    const body = encodeForm({ v_pmode: '招商银行|_|中国银行', v_amount: '1.00|_|2.00' });
    expect(body).toBe('v_pmode=%D5%D0%C9%CC%D2%F8%D0%D0%7C_%7C%D6%D0%B9%FA%D2%F8%D0%D0&v_amount=1.00%7C_%7C2.00');
    expect(decodeForm(Buffer.from(body))).toEqual({ v_pmode: '招商银行|_|中国银行', v_amount: '1.00|_|2.00' });
  });
});

describe('bank signatures at their edges', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const jwk = publicKey.export({ format: 'jwk' });
  const hex = (s: string) => Buffer.from(s, 'base64url').toString('hex');
  const src = '20261120-8888-K1' + '1' + '53329.60' + '0';
  const sig = rsaMd5Sign(privateKey, src);

  it('refuses a v_sign that is not whole hex bytes, rather than reading its hex prefix', () => {
    expect(rsaMd5Verify(publicKey, src, sig)).toBe(true);
    // Node's hex decoding stops at the first bad pair and drops an odd last digit: each of
    // these would decode to the valid signature if it were decoded unchecked.
    expect(rsaMd5Verify(publicKey, src, `${sig}zz`)).toBe(false);
    expect(rsaMd5Verify(publicKey, src, `${sig}zzab`)).toBe(false);
    expect(rsaMd5Verify(publicKey, src, `${sig}0`)).toBe(false);
    expect(rsaMd5Verify(publicKey, src, '')).toBe(false);
    // Hex that is no signature under this key: the decryption fails, and that is a "no".
    expect(rsaMd5Verify(publicKey, src, 'ab'.repeat(128))).toBe(false);
  });

  it('compares hex case-insensitively, and never an empty value as a match', () => {
    expect(sameHex('ABCDEF', 'abcdef')).toBe(true);
    expect(sameHex('abcdef', 'ABCDEF')).toBe(true);
    expect(sameHex('abcdef', 'abcdee')).toBe(false);
    expect(sameHex('abcdef', 'abcde')).toBe(false);
    expect(sameHex('', '')).toBe(false);
    expect(sameHex('', undefined)).toBe(false);
    expect(sameHex('abcdef', undefined)).toBe(false);
    expect(macMatches(KEY, '1.000', 'E9101CD8E9AF19090B48EEC7BDCE8B38')).toBe(true);
    expect(macMatches(KEY, '1.000', undefined)).toBe(false);
    // Only hex digits match hex digits: a character outside ASCII whose low byte is a digit's
    // ('ɢ' is U+0262, 'b' is 0x62) is not that digit.
    const mac = 'e9101cd8e9af19090b48eec7bdce8b38';
    expect(macMatches(KEY, '1.000', mac.replace('b', '\u0262'))).toBe(false);
    expect(sameHex('ab', '\u0161\u0262')).toBe(false);
    expect(sameHex('ab', '\u0161b')).toBe(false);
    // Chinese text is hashed as GBK bytes, as the gateway hashes it.
    expect(md5Hex('招商银行')).toBe(createHash('md5').update(Buffer.from('d5d0c9ccd2f8d0d0', 'hex')).digest('hex'));
    expect(hmacMd5(KEY, '招商银行')).toBe(
      createHmac('md5', KEY).update(Buffer.from('d5d0c9ccd2f8d0d0', 'hex')).digest('hex'),
    );
  });

  it('reads the key file text with spaces, an odd-length exponent and empty parts; refuses anything else', () => {
    const m = hex(jwk.n!);
    expect(hex(jwk.e!)).toBe('010001');
    for (const text of [
      `  m=${m};e=10001;  `,
      ` m = ${m} ; e = 010001 ;;`,
      `\n${publicKey.export({ type: 'spki', format: 'pem' }).toString()}\n`,
    ]) {
      expect(rsaMd5Verify(parseGatewayPublicKey(text), src, sig)).toBe(true);
    }
    const refusal = 'the gateway public key must be a PEM or "m=<hex>;e=<hex>;"';
    expect(() => parseGatewayPublicKey(`m=${m};`)).toThrow(refusal);
    expect(() => parseGatewayPublicKey(`e=010001;`)).toThrow(refusal);
    expect(() => parseGatewayPublicKey(`m=${m}z;e=010001;`)).toThrow(refusal);
    expect(() => parseGatewayPublicKey(`m=z${m};e=010001;`)).toThrow(refusal);
    expect(() => parseGatewayPublicKey(`m=${m};e=010001z;`)).toThrow(refusal);
    expect(() => parseGatewayPublicKey(`m=${m};e=z010001;`)).toThrow(refusal);
    expect(() => parseGatewayPublicKey(`m=${m};e=;`)).toThrow(refusal);
    expect(() => parseGatewayPublicKey(`m${m};e=010001;`)).toThrow(refusal);
  });
});
