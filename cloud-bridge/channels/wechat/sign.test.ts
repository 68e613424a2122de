import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkSignature, isSignType, jsapiPayParams, sign, signingString } from './sign.js';

// The official worked example (pay.weixin.qq.com "签名算法", docs/protocols/wechat.md).
const KEY = '192006250b4c09247ec02edce69f6a2d';
const EXAMPLE = {
  appid: 'wxd930ea5d5a258f4f',
  mch_id: '10000100',
  device_info: '1000',
  body: 'test',
  nonce_str: 'ibuaiVcKdpRxkhJA',
};

describe('WeChat Pay v2 signatures', () => {
  it('builds stringA in ASCII key order without URL-encoding', () => {
    expect(signingString(EXAMPLE)).toBe(
      'appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA',
    );
  });

  it('matches the official MD5 vector', () => {
    expect(sign(EXAMPLE, KEY, 'MD5')).toBe('9A0A8659F005D6984697E2CA0A9CF3B7');
  });

  it('matches the official HMAC-SHA256 vector (the &key= suffix is still in the message)', () => {
    expect(sign(EXAMPLE, KEY, 'HMAC-SHA256')).toBe('6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6');
  });

  it('signs sign_type like any other field', () => {
    expect(sign({ ...EXAMPLE, sign_type: 'HMAC-SHA256' }, KEY, 'HMAC-SHA256')).toBe(
      '2C9DF1156522C0B2B03B4DBF3BCA5CACB602CBD5CA0F9E112458CF3E9855303B',
    );
  });

  it('ignores empty fields and the sign itself', () => {
    expect(sign({ ...EXAMPLE, attach: '', sign: 'X' }, KEY, 'MD5')).toBe('9A0A8659F005D6984697E2CA0A9CF3B7');
  });

  it('builds the JSAPI pay parameters with paySign', () => {
    const p = jsapiPayParams(
      {
        appId: 'wx2421b1c4370ec43b',
        timeStamp: '1395712654',
        nonceStr: 'e61463f8efa94090b1f366cccfbbb444',
        prepayId: 'u802345jgfjsdfgsdg888',
        signType: 'MD5',
      },
      KEY,
    );
    expect(p).toEqual({
      appId: 'wx2421b1c4370ec43b',
      timeStamp: '1395712654',
      nonceStr: 'e61463f8efa94090b1f366cccfbbb444',
      package: 'prepay_id=u802345jgfjsdfgsdg888',
      signType: 'MD5',
      paySign: '0784A14C2CD35747364F62512E724FD8',
    });
  });

  it("verifies with the account's algorithm only, and says why a signature fails", () => {
    const signed = {
      ...EXAMPLE,
      sign_type: 'HMAC-SHA256',
      sign: '2C9DF1156522C0B2B03B4DBF3BCA5CACB602CBD5CA0F9E112458CF3E9855303B',
    };
    expect(checkSignature(signed, KEY, 'HMAC-SHA256')).toEqual({ ok: true });
    // The message's sign_type does not choose the algorithm: the account's setting does.
    const other = checkSignature(signed, KEY, 'MD5');
    expect(!other.ok && other.reason).toMatch(/sign_type "HMAC-SHA256" is not this account's configured MD5/);
    const md5Signed = { ...EXAMPLE, sign_type: 'MD5' };
    const downgrade = checkSignature({ ...md5Signed, sign: sign(md5Signed, KEY, 'MD5') }, KEY, 'HMAC-SHA256');
    expect(downgrade.ok).toBe(false);
    // A verifier that dropped sign_type (WxJava's old bug) would fail here.
    const { sign_type: _t, ...withoutType } = signed;
    expect(checkSignature(withoutType, KEY, 'HMAC-SHA256').ok).toBe(false);
    const tampered = checkSignature({ ...signed, body: 'tset' }, KEY, 'HMAC-SHA256');
    expect(tampered.ok).toBe(false);
    expect(!tampered.ok && tampered.reason).toMatch(
      /HMAC-SHA256 over 6 fields \[appid,body,device_info,mch_id,nonce_str,sign_type\]/,
    );
    expect(checkSignature({ ...EXAMPLE }, KEY, 'MD5')).toEqual({ ok: false, reason: 'the message has no sign field' });
    const weird = checkSignature({ ...signed, sign_type: 'SHA1' }, KEY, 'MD5');
    expect(!weird.ok && weird.reason).toMatch(/sign_type "SHA1"/);
    expect(checkSignature({ ...EXAMPLE, sign: '9a0a8659f005d6984697e2ca0a9cf3b7' }, KEY, 'MD5').ok).toBe(true);
  });

  it('knows exactly its two algorithms', () => {
    expect(isSignType('MD5')).toBe(true);
    expect(isSignType('HMAC-SHA256')).toBe(true);
    for (const v of ['md5', 'HMAC-SHA1', '', undefined, 5]) expect(isSignType(v)).toBe(false);
  });

  it('leaves out undefined fields as it leaves out empty ones', () => {
    const withUndefined = { ...EXAMPLE, attach: undefined as unknown as string };
    expect(signingString(withUndefined)).toBe(signingString(EXAMPLE));
    expect(signingString({ b: '2', a: '1', sign: 'S' })).toBe('a=1&b=2');
  });

  it('an empty sign_type is no sign_type; a wrong sign names what took part and both lengths', () => {
    const md5 = sign(EXAMPLE, KEY, 'MD5');
    expect(checkSignature({ ...EXAMPLE, sign_type: '', sign: md5 }, KEY, 'MD5')).toEqual({ ok: true });
    expect(checkSignature({ ...EXAMPLE, sign: '' }, KEY, 'MD5')).toEqual({
      ok: false,
      reason: 'the message has no sign field',
    });
    const long = 'HMAC-SHA256-AND-A-VERY-LONG-NAME';
    expect(checkSignature({ ...EXAMPLE, sign_type: long, sign: md5 }, KEY, 'MD5')).toEqual({
      ok: false,
      reason: `sign_type "${long.slice(0, 20)}" is not this account's configured MD5`,
    });
    expect(checkSignature({ ...EXAMPLE, attach: '', sign: md5.slice(1) }, KEY, 'MD5')).toEqual({
      ok: false,
      reason:
        "sign does not match: MD5 over 5 fields [appid,body,device_info,mch_id,nonce_str] with this account's API key gives another value (31 hex chars received, 32 expected)",
    });
    // Same length, one character off.
    const off = `${md5.slice(0, -1)}${md5.endsWith('0') ? '1' : '0'}`;
    expect(checkSignature({ ...EXAMPLE, sign: off }, KEY, 'MD5').ok).toBe(false);
  });

  it('hashes the UTF-8 bytes of Chinese field values', () => {
    // The same fields as the worked example with a Chinese body; the digest of the UTF-8 bytes.
    const fields = { ...EXAMPLE, body: '腾讯充值中心-QQ会员充值' };
    expect(sign(fields, KEY, 'MD5')).toBe(
      createHash('md5')
        .update(Buffer.from(`${signingString(fields)}&key=${KEY}`, 'utf8'))
        .digest('hex')
        .toUpperCase(),
    );
  });
});
