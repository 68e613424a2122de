import { createPublicKey, createSecretKey, createSign, createVerify, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { createHash } from 'node:crypto';
import {
  encodeText,
  preSignString,
  privateKeyFrom,
  publicKeyFrom,
  repairSignature,
  responsePreSignString,
  signParams,
  verifyParams,
  verifyPreSign,
} from './sign.js';

const KALIGO = '760bdzec6y9goq7ctyx96ezkz78287de';

/** Splits a documented pre-sign string back into fields (values here contain no '&'). */
function fields(pre: string): Record<string, string> {
  return Object.fromEntries(pre.split('&').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

// docs/protocols/alipay.md: public MD5 vectors (Kaligo's and odoo's tests, and one NZD vector).
const VECTORS: Array<[string, string, string]> = [
  ['partner=2088101122136241&service=forex_rate_file', KALIGO, '4051af1716d522b47acff927d4fb9781'],
  [
    'end_date=20120205&partner=2088101122136241&service=forex_compare_file&start_date=20120202',
    KALIGO,
    '3d09abe0980696bb39bb72c6137266ca',
  ],
  [
    'end_date=20120205&partner=2088101122136241&service=forex_liquidation_file&start_date=20120202',
    KALIGO,
    '68c26fcba73dc3134bc88bb04a8be865',
  ],
  [
    '_input_charset=utf-8&currency=HKD&notify_id=13f1e773aeb299e26eb5d02bbb71219d50&notify_time=2013-09-02 10:41:43&notify_type=trade_status_sync&out_trade_no=4028608899131221&total_fee=0.10&trade_no=4061800001000100000574688&trade_status=TRADE_FINISHED',
    KALIGO,
    'a27572b0a6dee50d2d4a1449bfd55e92',
  ],
  [
    'currency=CNY&notify_id=1234567890123456789012345678901234&notify_time=2021-12-01 01:01:01&notify_type=trade_status_sync&out_trade_no=Test Transaction&total_fee=1111.11&trade_no=2021111111111111111111111111&trade_status=TRADE_FINISHED',
    'dummy',
    '782b6d1015549f847e2ab27d1edb65c7',
  ],
  [
    // Kaligo's create_forex_trade_wap test URL (test/service/trade_test.rb), its published signature.
    '_input_charset=utf-8&currency=USD&notify_url=https://example.com/notify&out_trade_no=12345&partner=2088101122136241&service=create_forex_trade_wap&subject=product_name&supplier=company_name&total_fee=350.45',
    KALIGO,
    'c19f42a597963f118c4f99f2fc7f716f',
  ],
  [
    '_input_charset=UTF-8&currency=NZD&notify_url=https://bridge.example.nz/alipay/notify&out_trade_no=NZ20240101000001&partner=2088101122136241&product_code=NEW_OVERSEAS_SELLER&return_url=https://shop.example.nz/return&service=create_forex_trade&subject=Flat white&timeout_rule=30m&total_fee=10.00',
    KALIGO,
    '2751c9e8b10c798f8d6b69833d413abf',
  ],
];

describe('MAPI pre-sign string and MD5', () => {
  it.each(VECTORS)('vector %#', (pre, key, expected) => {
    const f = fields(pre);
    // Shuffle the order and add sign/sign_type and an empty value: none of them may matter.
    const shuffled = Object.fromEntries(Object.entries(f).reverse());
    const params = { ...shuffled, sign: 'x', sign_type: 'MD5', empty: '' };
    expect(preSignString(params)).toBe(pre);
    expect(signParams(params, 'MD5', { md5Key: key })).toBe(expected);
    expect(verifyParams(params, 'MD5', expected, { md5Key: key })).toBe(true);
    expect(verifyParams(params, 'MD5', expected.toUpperCase(), { md5Key: key })).toBe(true);
  });

  it('the notify vector needs _input_charset in the signed string', () => {
    const f = fields(VECTORS[3]![0]);
    const { _input_charset: _drop, ...without } = f;
    expect(signParams(without, 'MD5', { md5Key: KALIGO })).not.toBe(VECTORS[3]![2]);
    expect(verifyParams(without, 'MD5', VECTORS[3]![2], { md5Key: KALIGO })).toBe(false);
  });

  it('a changed value or key fails', () => {
    const f = fields(VECTORS[0]![0]);
    expect(verifyParams({ ...f, partner: '2088101122136242' }, 'MD5', VECTORS[0]![2], { md5Key: KALIGO })).toBe(false);
    expect(verifyParams(f, 'MD5', VECTORS[0]![2], { md5Key: 'wrong' })).toBe(false);
    expect(verifyParams(f, 'MD5', 'short', { md5Key: KALIGO })).toBe(false);
  });

  it('GBK accounts sign the GBK bytes', () => {
    const p = { subject: '奇异果', partner: '2088101122136241' };
    const want = createHash('md5')
      .update(iconv.encode(`partner=2088101122136241&subject=奇异果${KALIGO}`, 'gbk'))
      .digest('hex');
    expect(signParams(p, 'MD5', { md5Key: KALIGO }, 'GBK')).toBe(want);
    expect(signParams(p, 'MD5', { md5Key: KALIGO }, 'UTF-8')).not.toBe(want);
  });
});

describe('RSA and RSA2', () => {
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const other = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const priv = privateKeyFrom(pair.privateKey);
  const pub = publicKeyFrom(pair.publicKey);
  const params = {
    service: 'single_trade_query',
    partner: '2088101122136241',
    out_trade_no: 'K01',
    _input_charset: 'UTF-8',
    subject: '奇异果 flat white',
  };

  it.each(['RSA', 'RSA2'] as const)('%s round trip, and the signature is the documented algorithm', (type) => {
    const sig = signParams(params, type, { privateKey: priv });
    expect(verifyParams(params, type, sig, { publicKey: pub })).toBe(true);
    // Node's own crypto with the documented algorithm over the documented string.
    const node = createSign(type === 'RSA' ? 'RSA-SHA1' : 'RSA-SHA256')
      .update(Buffer.from(preSignString(params), 'utf8'))
      .sign(pair.privateKey, 'base64');
    expect(verifyParams(params, type, node, { publicKey: pub })).toBe(true);
    expect(verifyParams({ ...params, out_trade_no: 'K02' }, type, sig, { publicKey: pub })).toBe(false);
    expect(verifyParams(params, type, sig, { publicKey: publicKeyFrom(other.publicKey) })).toBe(false);
    expect(verifyParams(params, type === 'RSA' ? 'RSA2' : 'RSA', sig, { publicKey: pub })).toBe(false);
  });

  it('repairs a signature whose + became spaces', () => {
    let sig: string;
    const p = { ...params };
    for (let i = 0; ; i++) {
      p.out_trade_no = `K${i}`;
      sig = signParams(p, 'RSA2', { privateKey: priv });
      if (sig.includes('+')) break;
    }
    expect(verifyParams(p, 'RSA2', sig.replace(/\+/g, ' '), { publicKey: pub })).toBe(true);
  });

  it('reads bare base64 keys (PKCS#8 private, X.509 public) as Alipay prints them', () => {
    const bare = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    const sig = signParams(params, 'RSA2', { privateKey: privateKeyFrom(bare(pair.privateKey)) });
    expect(verifyParams(params, 'RSA2', sig, { publicKey: publicKeyFrom(bare(pair.publicKey)) })).toBe(true);
    expect(() => privateKeyFrom('bm90IGEga2V5')).toThrow();
  });
});

describe('MAPI signatures at their edges', () => {
  const rsa = generateKeyPairSync('rsa', {
    modulusLength: 1024,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const ec = generateKeyPairSync('ec', {
    namedCurve: 'P-256',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const params = { service: 'single_trade_query', partner: '2088101122136241', out_trade_no: 'K01' };

  it('drops undefined values like empty ones, and keeps empty values in a reply', () => {
    expect(preSignString({ b: '2', a: '1', c: undefined, d: '' })).toBe('a=1&b=2');
    expect(responsePreSignString({ trade_status: 'TRADE_SUCCESS', buyer_email: '', alipay_trans_id: '2015' })).toBe(
      'alipay_trans_id=2015&buyer_email=&trade_status=TRADE_SUCCESS',
    );
  });

  it('encodes in the named charset', () => {
    expect(encodeText('奇异果', 'GBK')).toEqual(iconv.encode('奇异果', 'gbk'));
    expect(encodeText('奇异果', 'UTF-8')).toEqual(Buffer.from('奇异果', 'utf8'));
    expect(encodeText('奇异果', 'UTF-8')).not.toEqual(encodeText('奇异果', 'GBK'));
  });

  it('says which key a signature needs, and verifies nothing without it', () => {
    expect(() => signParams(params, 'MD5', {})).toThrow('MD5 signing needs the MD5 key');
    expect(() => signParams(params, 'RSA2', { md5Key: KALIGO })).toThrow('RSA2 signing needs the merchant private key');
    expect(() => signParams(params, 'RSA', {})).toThrow('RSA signing needs the merchant private key');
    const md5 = signParams(params, 'MD5', { md5Key: KALIGO });
    expect(verifyParams(params, 'MD5', md5, {})).toBe(false);
    expect(verifyParams(params, 'MD5', md5, { md5Key: '' })).toBe(false);
    expect(verifyParams(params, 'MD5', ` ${md5}\n`, { md5Key: KALIGO })).toBe(true);
    expect(verifyParams(params, 'MD5', md5.slice(0, -1), { md5Key: KALIGO })).toBe(false);
    expect(verifyParams(params, 'MD5', `${md5.slice(0, -1)}${md5.endsWith('0') ? '1' : '0'}`, { md5Key: KALIGO })).toBe(
      false,
    );
    const rsa2 = signParams(params, 'RSA2', { privateKey: privateKeyFrom(rsa.privateKey) });
    expect(verifyParams(params, 'RSA2', rsa2, {})).toBe(false);
    expect(verifyParams(params, 'RSA2', rsa2, { md5Key: KALIGO })).toBe(false);
  });

  it('an account without an MD5 key takes no MD5 signature, not even one anyone could compute', () => {
    const pre = preSignString(params);
    const md5 = (s: string) => createHash('md5').update(s).digest('hex');
    // MD5(pre-sign string + key) with the key missing, empty, or read as the text "undefined".
    for (const forged of [md5(pre), md5(`${pre}undefined`), md5(`${pre}null`)]) {
      expect(verifyPreSign(pre, 'MD5', forged, {})).toBe(false);
      expect(verifyPreSign(pre, 'MD5', forged, { md5Key: '' })).toBe(false);
    }
  });

  it('a signature the library cannot even read is a "no", not an exception', () => {
    // A key object that is no public key makes Node's verify throw.
    const secret = createSecretKey(Buffer.from('not a public key'));
    const rsa2 = signParams(params, 'RSA2', { privateKey: privateKeyFrom(rsa.privateKey) });
    expect(() => createVerify('RSA-SHA256').update('x').verify(secret, rsa2, 'base64')).toThrow();
    expect(verifyPreSign(preSignString(params), 'RSA2', rsa2, { publicKey: secret })).toBe(false);
    expect(verifyPreSign(preSignString(params), 'RSA2', rsa2, { publicKey: createPublicKey(rsa.publicKey) })).toBe(
      true,
    );
    expect(verifyPreSign(preSignString(params), 'RSA', rsa2, { publicKey: createPublicKey(rsa.publicKey) })).toBe(
      false,
    );
  });

  it('refuses keys that are not RSA, in PEM or bare base64, and reads bare base64 over several lines', () => {
    const bare = (pem: string) => pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    expect(() => privateKeyFrom(ec.privateKey)).toThrow('the private key is not an RSA key');
    expect(() => privateKeyFrom(bare(ec.privateKey))).toThrow('the private key is not an RSA key');
    expect(() => publicKeyFrom(ec.publicKey)).toThrow('the public key is not an RSA key');
    expect(() => publicKeyFrom(bare(ec.publicKey))).toThrow('the public key is not an RSA key');
    const wrapped = (b64: string) => `\n  ${b64.match(/.{1,64}/g)!.join('\n  ')}\n`;
    const priv = privateKeyFrom(wrapped(bare(rsa.privateKey)));
    const pub = publicKeyFrom(wrapped(bare(rsa.publicKey)));
    expect(verifyParams(params, 'RSA', signParams(params, 'RSA', { privateKey: priv }), { publicKey: pub })).toBe(true);
    expect(privateKeyFrom(`\n${rsa.privateKey}\n`).asymmetricKeyType).toBe('rsa');
    expect(publicKeyFrom(`\n${rsa.publicKey}\n`).asymmetricKeyType).toBe('rsa');
  });

  it('repairs only spaces', () => {
    expect(repairSignature('a b c+d/e=')).toBe('a+b+c+d/e=');
  });
});
