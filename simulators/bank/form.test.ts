import { describe, expect, it } from 'vitest';
import { decodeForm, encodeForm } from './form.js';

// Expected bytes worked out by hand from the GBK code table (招 D5D0, 商 C9CC, 银 D2F8,
// 行 D0D0, 支 D6A7, 付 B8B6, 完 CDEA, 成 B3C9) and the HTML urlencoded rules.

describe("the gateway's GBK form encoding", () => {
  it('writes GBK bytes as uppercase %XX, the space as +, and keeps *-._ and alphanumerics', () => {
    expect(encodeForm({ v_pmode: '招商银行', v_pstring: '支付完成', note: 'a b*-._~|' })).toBe(
      'v_pmode=%D5%D0%C9%CC%D2%F8%D0%D0&v_pstring=%D6%A7%B8%B6%CD%EA%B3%C9&note=a+b*-._%7E%7C',
    );
  });
  it('reads %XX in either case, + as a space, and raw GBK bytes', () => {
    const raw = Buffer.concat([
      Buffer.from('v_pmode=%d5%d0%C9%CC&x=1+2%2B3&y='),
      Buffer.from([0xd2, 0xf8, 0xd0, 0xd0]),
      Buffer.from('&flag&x=4'),
    ]);
    expect(decodeForm(raw)).toEqual({ v_pmode: '招商', x: '4', y: '银行', flag: '' });
  });
  it('reads UTF-8 forms when asked', () => {
    expect(decodeForm('r=%E9%80%80%E6%AC%BE', 'utf-8')).toEqual({ r: '退款' });
    expect(encodeForm({ r: '退款' }, 'utf-8')).toBe('r=%E9%80%80%E6%AC%BE');
  });
  it('keeps a lone % that is not an escape', () => {
    expect(decodeForm('a=100%&b=%zz')).toEqual({ a: '100%', b: '%zz' });
  });
});
