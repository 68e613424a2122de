import { describe, expect, it } from 'vitest';
import iconv from 'iconv-lite';
import { parseAlipayXml } from './xml.js';
import { AlipayError } from './errors.js';

const ok = `<?xml version="1.0" encoding="UTF-8"?>
<alipay><is_success>T</is_success><request><param name="service">alipay.acquire.precreate</param></request>
<response><alipay><out_trade_no>K1</out_trade_no><qr_code>https://qr.alipay.com/bax01</qr_code><result_code>SUCCESS</result_code><subject>A &amp; B</subject></alipay></response>
<sign>47004d1f76eb470db5eda0825e8a3708</sign><sign_type>MD5</sign_type></alipay>`;

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof AlipayError) return err.alipayCode;
    throw err;
  }
  return undefined;
}

describe('parseAlipayXml', () => {
  it("reads a GBK refusal with a line break after the declaration, as Kaligo's README quotes one", () => {
    const body = iconv.encode(
      '<?xml version="1.0" encoding="GBK"?>\n<alipay><is_success>F</is_success><error>ILLEGAL_PARTNER</error></alipay>',
      'gbk',
    );
    expect(parseAlipayXml(body, 'text/xml; charset=GBK')).toMatchObject({ isSuccess: false, error: 'ILLEGAL_PARTNER' });
  });

  it('reads the envelope, the response fields (as strings) and the signature', () => {
    const x = parseAlipayXml(Buffer.from(ok));
    expect(x.isSuccess).toBe(true);
    expect(x.responseName).toBe('alipay');
    expect(x.response).toEqual({
      out_trade_no: 'K1',
      qr_code: 'https://qr.alipay.com/bax01',
      result_code: 'SUCCESS',
      subject: 'A & B',
    });
    expect(x.sign).toBe('47004d1f76eb470db5eda0825e8a3708');
    expect(x.signType).toBe('MD5');
  });

  it('keeps amounts as strings', () => {
    const x = parseAlipayXml(
      Buffer.from(
        '<alipay><is_success>T</is_success><response><trade><total_fee>10.10</total_fee><trade_no>2026112222001000001000000001</trade_no></trade></response><sign>a</sign></alipay>',
      ),
    );
    expect(x.response.total_fee).toBe('10.10');
    expect(x.response.trade_no).toBe('2026112222001000001000000001');
  });

  it('reads a gateway error, GBK-encoded as Alipay sends it', () => {
    const body = iconv.encode(
      '<?xml version="1.0" encoding="GBK"?><alipay><is_success>F</is_success><error>ILLEGAL_SIGN</error></alipay>',
      'gbk',
    );
    const x = parseAlipayXml(body);
    expect(x.isSuccess).toBe(false);
    expect(x.error).toBe('ILLEGAL_SIGN');
  });

  it('decodes GBK Chinese text', () => {
    const body = iconv.encode(
      '<?xml version="1.0" encoding="GBK"?><alipay><is_success>T</is_success><response><trade><subject>奇异果小店</subject></trade></response></alipay>',
      'gbk',
    );
    expect(parseAlipayXml(body).response.subject).toBe('奇异果小店');
  });

  it('refuses a GBK body declared as UTF-8', () => {
    const body = iconv.encode(
      '<?xml version="1.0" encoding="UTF-8"?><alipay><is_success>T</is_success><response><trade><subject>奇异果小店</subject></trade></response></alipay>',
      'gbk',
    );
    expect(code(() => parseAlipayXml(body))).toBe('ILLEGAL_CHARSET');
  });

  it('refuses malformed XML, DOCTYPEs and entity declarations, and foreign roots', () => {
    expect(code(() => parseAlipayXml(Buffer.from('<alipay><is_success>T</is_success><response>')))).toBe(
      'MALFORMED_XML',
    );
    expect(
      code(() =>
        parseAlipayXml(
          Buffer.from(
            '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><alipay><is_success>T</is_success><error>&a;</error></alipay>',
          ),
        ),
      ),
    ).toBe('MALFORMED_XML');
    expect(
      code(() => parseAlipayXml(Buffer.from('<?xml version="1.0"?><!DOCTYPE x SYSTEM "file:///etc/passwd"><alipay/>'))),
    ).toBe('MALFORMED_XML');
    expect(code(() => parseAlipayXml(Buffer.from('<xml><return_code>SUCCESS</return_code></xml>')))).toBe(
      'MALFORMED_XML',
    );
    expect(code(() => parseAlipayXml(Buffer.from('<alipay><is_success>maybe</is_success></alipay>')))).toBe(
      'MALFORMED_XML',
    );
    expect(code(() => parseAlipayXml(Buffer.from('<?xml version="1.0" encoding="Shift_JIS"?><alipay/>')))).toBe(
      'ILLEGAL_CHARSET',
    );
  });
});
