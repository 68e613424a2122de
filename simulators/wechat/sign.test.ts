import { describe, it, expect } from 'vitest';
import { sign, stringToSign, verify } from './sign.js';

const key = '192006250b4c09247ec02edce69f6a2d';
// The official worked example (docs/protocols/wechat.md).
const example = {
  appid: 'wxd930ea5d5a258f4f',
  mch_id: '10000100',
  device_info: '1000',
  body: 'test',
  nonce_str: 'ibuaiVcKdpRxkhJA',
};

describe('WeChat v2 signature', () => {
  it('builds the official stringSignTemp', () => {
    expect(stringToSign(example, key)).toBe(
      'appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA&key=192006250b4c09247ec02edce69f6a2d',
    );
  });

  it('matches the official MD5 and HMAC-SHA256 vectors', () => {
    expect(sign(example, key, 'MD5')).toBe('9A0A8659F005D6984697E2CA0A9CF3B7');
    expect(sign(example, key, 'HMAC-SHA256')).toBe('6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6');
  });

  it('signs sign_type like any field, drops empty values and sign itself', () => {
    expect(sign({ ...example, sign_type: 'HMAC-SHA256' }, key, 'HMAC-SHA256')).toBe(
      '2C9DF1156522C0B2B03B4DBF3BCA5CACB602CBD5CA0F9E112458CF3E9855303B',
    );
    expect(sign({ ...example, attach: '', sign: 'X' }, key, 'MD5')).toBe('9A0A8659F005D6984697E2CA0A9CF3B7');
  });

  it('matches the JSAPI paySign vector', () => {
    const pay = {
      appId: 'wx2421b1c4370ec43b',
      timeStamp: '1395712654',
      nonceStr: 'e61463f8efa94090b1f366cccfbbb444',
      package: 'prepay_id=u802345jgfjsdfgsdg888',
      signType: 'MD5',
    };
    expect(sign(pay, key, 'MD5')).toBe('0784A14C2CD35747364F62512E724FD8');
  });

  it('verifies, case-insensitively, and rejects a wrong key, field or algorithm', () => {
    const signed = { ...example, sign: '9a0a8659f005d6984697e2ca0a9cf3b7' };
    expect(verify(signed, key, 'MD5')).toBe(true);
    expect(verify(signed, key.replace('1', '2'), 'MD5')).toBe(false);
    expect(verify({ ...signed, body: 'tesT' }, key, 'MD5')).toBe(false);
    expect(verify(signed, key, 'HMAC-SHA256')).toBe(false);
    expect(verify(example, key, 'MD5')).toBe(false);
  });
});
