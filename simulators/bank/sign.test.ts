import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeForm, encodeForm } from './form.js';
import { hmacMd5, payeaseKeyText, rsaMd5Sign, rsaMd5Verify } from './sign.js';

const KEY = 'Xke1a0TqZE2Q8ku943LgC425247y3zuu09vLh78S4U0142rp60h3s6egNY3j';

describe('PayEase HMAC-MD5, public vectors (algorithm: docs/protocols/payease-bank.md, Signatures)', () => {
  it('signs the request v_md5info', () => {
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
  it('signs v_md5money', () => {
    expect(hmacMd5(KEY, '1.00' + '0')).toBe('e9101cd8e9af19090b48eec7bdce8b38');
  });
});

describe('RSA_MD5 v_sign', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  it('round-trips and refuses changes', () => {
    const src = '20261120-8888-K01|_|20261120-8888-K021|_|1123.45|_|50.000|_|02';
    const sig = rsaMd5Sign(privateKey, src);
    expect(sig).toMatch(/^[0-9a-f]{256}$/);
    expect(rsaMd5Verify(publicKey, src, sig)).toBe(true);
    expect(rsaMd5Verify(publicKey, src.replace('123.45', '123.46'), sig)).toBe(false);
    expect(
      rsaMd5Verify(
        publicKey,
        src,
        sig.replace(/^./, (c) => (c === '0' ? '1' : '0')),
      ),
    ).toBe(false);
    expect(rsaMd5Verify(publicKey, src, 'zz')).toBe(false);
  });
  it('writes the key file format', () => {
    expect(payeaseKeyText(publicKey)).toMatch(/^m=[0-9a-f]{256};e=010001;$/);
  });
});

describe('GBK forms', () => {
  it('round-trips Chinese values', () => {
    const body = encodeForm({ v_pmode: '招商银行', v_pstring: '支付完成|_|支付被拒绝', v_amount: '1.00' });
    expect(body).toContain('v_pmode=%D5%D0%C9%CC%D2%F8%D0%D0');
    expect(decodeForm(Buffer.from(body))).toEqual({
      v_pmode: '招商银行',
      v_pstring: '支付完成|_|支付被拒绝',
      v_amount: '1.00',
    });
  });
});
