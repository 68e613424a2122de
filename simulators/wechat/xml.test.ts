import { describe, it, expect } from 'vitest';
import { buildWechatXml, parseWechatXml, XmlInputError } from './xml.js';

const parse = (s: string | Buffer) => parseWechatXml(Buffer.isBuffer(s) ? s : Buffer.from(s));
const code = (s: string | Buffer) => {
  try {
    parse(s);
  } catch (err) {
    if (err instanceof XmlInputError) return err.code;
    throw err;
  }
  return 'parsed';
};

describe('WeChat XML', () => {
  it('parses flat CDATA and bare fields, keeping strings as sent', () => {
    const f = parse(
      '<?xml version="1.0" encoding="UTF-8"?>\n<xml><appid><![CDATA[wx2421b1c4370ec43b]]></appid><total_fee>0888</total_fee>' +
        '<detail><![CDATA[{"goods":[{"a":"<b>&amp;"}]}]]></detail><body>T &amp; C</body></xml>',
    );
    expect(f).toEqual({
      appid: 'wx2421b1c4370ec43b',
      total_fee: '0888',
      detail: '{"goods":[{"a":"<b>&amp;"}]}',
      body: 'T & C', // predefined entities are decoded outside CDATA, as WeChat does
    });
  });

  it('drops layout between fields, keeps values byte for byte, and decodes entities only outside CDATA', () => {
    const f = parse(
      '<xml>\n   <appid>wx1</appid>\r\n\t<body> a &lt;b&gt; &amp; &#x5947; </body>\n<attach><![CDATA[ &amp; ]]></attach>\n</xml>',
    );
    expect(f).toEqual({ appid: 'wx1', body: ' a <b> & 奇 ', attach: ' &amp; ' });
  });

  it('refuses text outside the fields', () => {
    expect(code('<xml>\n<a>1</a> stray\n</xml>')).toBe('XML_FORMAT_ERROR');
    expect(code('<xml><![CDATA[x]]><a>1</a></xml>')).toBe('XML_FORMAT_ERROR');
  });

  it('lays answers out one field per line, amounts bare and ids in CDATA, as WeChat does', () => {
    expect(buildWechatXml({ return_code: 'SUCCESS', total_fee: '1', time_end: '20141111170043' })).toBe(
      '<xml><return_code><![CDATA[SUCCESS]]></return_code>\n<total_fee>1</total_fee>\n<time_end><![CDATA[20141111170043]]></time_end>\n</xml>',
    );
  });

  it('round-trips what it builds, including "]]>" inside text', () => {
    const fields = { return_code: 'SUCCESS', total_fee: '100', attach: 'a]]>b<c>&', empty: '' };
    const xml = buildWechatXml(fields);
    expect(xml).toContain('<total_fee>100</total_fee>');
    expect(xml).not.toContain('<empty>');
    expect(parse(xml)).toEqual({ return_code: 'SUCCESS', total_fee: '100', attach: 'a]]>b<c>&' });
  });

  it('refuses a billion-laughs bomb without expanding it', () => {
    const bomb =
      '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
      '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><body>&lol3;</body></xml>';
    const t = Date.now();
    expect(code(bomb)).toBe('XML_FORMAT_ERROR');
    expect(Date.now() - t).toBeLessThan(100);
  });

  it('refuses external entities (XXE) and any DOCTYPE', () => {
    expect(code('<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><xml><body>&xxe;</body></xml>')).toBe(
      'XML_FORMAT_ERROR',
    );
    expect(code('<!doctype xml><xml><a>1</a></xml>')).toBe('XML_FORMAT_ERROR');
  });

  it('refuses malformed, non-flat, repeated, wrong-root, empty and non-UTF-8 bodies', () => {
    expect(code('<xml><a>1</b></xml>')).toBe('XML_FORMAT_ERROR');
    expect(code('<xml><a>1</a>')).toBe('XML_FORMAT_ERROR');
    expect(code('appid=wx&mch_id=1')).toBe('XML_FORMAT_ERROR');
    expect(code('<xml><a><b>1</b></a></xml>')).toBe('XML_FORMAT_ERROR');
    expect(code('<xml><a>1</a><a>2</a></xml>')).toBe('XML_FORMAT_ERROR');
    expect(code('<root><a>1</a></root>')).toBe('XML_FORMAT_ERROR');
    expect(code('  ')).toBe('POST_DATA_EMPTY');
    expect(code(Buffer.from([0x3c, 0x78, 0x6d, 0x6c, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x78, 0x6d, 0x6c, 0x3e]))).toBe(
      'NOT_UTF8',
    );
  });

  it('does not let field names reach the prototype', () => {
    expect(code('<xml><__proto__><x>1</x></__proto__></xml>')).toBe('XML_FORMAT_ERROR');
    expect(code('<xml><constructor>y</constructor></xml>')).toBe('XML_FORMAT_ERROR');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
