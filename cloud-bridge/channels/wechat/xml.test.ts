import { describe, expect, it } from 'vitest';
import { buildWechatXml, parseWechatXml, WechatXmlError } from './xml.js';

function refused(input: string | Buffer): WechatXmlError {
  try {
    parseWechatXml(input);
  } catch (err) {
    expect(err).toBeInstanceOf(WechatXmlError);
    return err as WechatXmlError;
  }
  throw new Error('accepted');
}

describe('WeChat XML', () => {
  it('reads CDATA and plain fields as strings, keeping leading zeros', () => {
    const f = parseWechatXml(
      '<?xml version="1.0" encoding="UTF-8"?>\n<xml><return_code><![CDATA[SUCCESS]]></return_code><total_fee>0888</total_fee><body>A &amp; B 奇异果</body><attach></attach></xml>',
    );
    expect(f).toEqual({ return_code: 'SUCCESS', total_fee: '0888', body: 'A & B 奇异果', attach: '' });
  });

  it('drops the layout WeChat puts between fields and keeps every value byte for byte', () => {
    // Real answers put a newline (the docs' examples also indent) between
    // elements; that layout must not become a field, nor be trimmed off a value.
    const f = parseWechatXml(
      '<xml>\n   <return_code><![CDATA[SUCCESS]]></return_code>\r\n\t<return_msg><![CDATA[ OK ]]></return_msg>\n<body> A &amp; B </body>\n<attach><![CDATA[&amp;]]></attach>\n</xml>\n',
    );
    expect(f).toEqual({ return_code: 'SUCCESS', return_msg: ' OK ', body: ' A & B ', attach: '&amp;' });
    expect(Object.keys(f)).not.toContain('#text');
  });

  it('refuses text outside the fields as malformed', () => {
    expect(refused('<xml>\n<a>1</a> stray\n</xml>').code).toBe('xml_malformed');
    expect(refused('<xml>stray<a>1</a></xml>').code).toBe('xml_malformed');
    expect(refused('<xml><![CDATA[x]]><a>1</a></xml>').code).toBe('xml_malformed');
    expect(refused('<xml><a>1</a></xml><xml><a>2</a></xml>').code).toMatch(/xml_(shape|malformed)/);
  });

  it('round-trips what it builds, including a value containing ]]>', () => {
    const fields = { a: 'x]]>y', b: '<tag>&', c: '' };
    expect(parseWechatXml(buildWechatXml(fields))).toEqual(fields);
  });

  it('refuses a billion-laughs bomb and XXE without expanding anything', () => {
    const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]><xml><a>&lol2;</a></xml>`;
    expect(refused(bomb).code).toBe('xml_doctype');
    const xxe = `<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]><xml><a>&xxe;</a></xml>`;
    expect(refused(xxe).code).toBe('xml_doctype');
  });

  it('refuses malformed, empty, non-UTF-8, oversized and oddly shaped documents', () => {
    expect(refused('<xml><a>1</b></xml>').code).toBe('xml_malformed');
    expect(refused('not xml at all').code).toBe('xml_malformed');
    expect(refused('  ').code).toBe('xml_empty');
    expect(
      refused(Buffer.from([0x3c, 0x78, 0x6d, 0x6c, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x78, 0x6d, 0x6c, 0x3e])).code,
    ).toBe('xml_not_utf8');
    expect(refused(`<xml><a>${'x'.repeat(70_000)}</a></xml>`).code).toBe('xml_too_large');
    expect(refused('<root><a>1</a></root>').code).toBe('xml_shape');
    expect(refused('<xml><a>1</a><a>2</a></xml>').message).toMatch(/<a> appears more than once/);
    expect(refused('<xml><a><b>1</b></a></xml>').message).toMatch(/flat/);
  });
});

describe('WeChat XML round trip (property)', () => {
  it('reads back exactly what it wrote, for any flat fields', async () => {
    const fc = (await import('fast-check')).default;
    // XML 1.0 cannot carry most C0 controls at all; WeChat values never hold them.
    const value = fc.string({
      unit: fc.constantFrom(
        'a',
        'Z',
        '0',
        ' ',
        '\n',
        '\t',
        '<',
        '>',
        '&',
        ']',
        '[',
        '"',
        "'",
        '奇',
        '果',
        '\u{1F95D}',
        '=',
        ';',
      ),
    });
    const name = fc.stringMatching(/^[a-z_][a-z0-9_]{0,15}$/);
    fc.assert(
      fc.property(fc.dictionary(name, value, { maxKeys: 12 }), (fields) => {
        const clean = Object.fromEntries(Object.entries(fields).filter(([k]) => k !== '__proto__'));
        expect(parseWechatXml(buildWechatXml(clean))).toEqual(clean);
      }),
      { numRuns: 300 },
    );
  });
});
