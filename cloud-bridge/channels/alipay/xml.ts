import { XMLParser, XMLValidator } from 'fast-xml-parser';
import iconv from 'iconv-lite';
import { AlipayError } from './errors.js';
import type { Charset } from './sign.js';

// MAPI replies: <alipay><is_success>T|F</is_success>[<error>…</error>][<request>…]
// [<response><NAME>fields</NAME></response><sign>…</sign><sign_type>…</sign_type>]</alipay>.
// Parsed safely: DOCTYPE and entity declarations are refused outright (no expansion, no
// external fetches), the XML must be well formed, and the bytes must be valid in the
// encoding the reply declares (GBK or UTF-8).

export interface AlipayXml {
  isSuccess: boolean;
  error?: string;
  /** The element inside <response> ("trade", "alipay"), with its leaf fields. */
  responseName?: string;
  response: Record<string, string>;
  sign?: string;
  signType?: string;
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true, // only the five predefined ones: declarations are refused below
  htmlEntities: false,
});

/** The charset a reply's bytes are in: its XML declaration, else the Content-Type, else UTF-8. */
export function declaredXmlCharset(body: Buffer, contentType?: string): Charset {
  const head = body.subarray(0, 120).toString('latin1');
  const decl =
    /^\s*<\?xml[^>]*encoding\s*=\s*["']([A-Za-z0-9_-]+)["']/.exec(head)?.[1] ??
    /charset=([A-Za-z0-9_-]+)/i.exec(contentType ?? '')?.[1] ??
    'UTF-8';
  const c = decl.toUpperCase();
  if (c === 'GBK' || c === 'GB2312' || c === 'GB18030') return 'GBK';
  if (c === 'UTF-8' || c === 'UTF8') return 'UTF-8';
  throw new AlipayError(
    'channel_error',
    `The Alipay reply declares an unsupported encoding "${decl}"`,
    'ILLEGAL_CHARSET',
  );
}

export function decodeText(body: Buffer, charset: Charset): string {
  if (charset === 'GBK') return iconv.decode(body, 'gbk');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new AlipayError(
      'channel_error',
      'The Alipay reply is not valid UTF-8 although it says it is (a GBK body declared as UTF-8?)',
      'ILLEGAL_CHARSET',
    );
  }
}

function leafFields(node: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof node !== 'object' || node === null) return out;
  for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
  }
  return out;
}

export function parseAlipayXml(body: Buffer, contentType?: string): AlipayXml {
  const text = decodeText(body, declaredXmlCharset(body, contentType));
  if (/<!DOCTYPE|<!ENTITY/i.test(text))
    throw new AlipayError(
      'channel_error',
      'The Alipay reply contains a DOCTYPE or entity declaration; refused',
      'MALFORMED_XML',
    );
  const valid = XMLValidator.validate(text);
  if (valid !== true)
    throw new AlipayError(
      'channel_error',
      `The Alipay reply is not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`,
      'MALFORMED_XML',
    );
  const doc = parser.parse(text) as Record<string, unknown>;
  const root = doc.alipay as Record<string, unknown> | undefined;
  if (typeof root !== 'object' || root === null)
    throw new AlipayError('channel_error', 'The Alipay reply has no <alipay> root element', 'MALFORMED_XML');
  const isSuccess = root.is_success;
  if (isSuccess !== 'T' && isSuccess !== 'F')
    throw new AlipayError('channel_error', 'The Alipay reply has no <is_success>T|F</is_success>', 'MALFORMED_XML');
  const out: AlipayXml = { isSuccess: isSuccess === 'T', response: {} };
  if (typeof root.error === 'string') out.error = root.error;
  const response = root.response as Record<string, unknown> | undefined;
  if (typeof response === 'object' && response !== null) {
    const name = Object.keys(response)[0];
    if (name) {
      out.responseName = name;
      out.response = leafFields(response[name]);
    }
  }
  if (typeof root.sign === 'string') out.sign = root.sign;
  if (typeof root.sign_type === 'string') out.signType = root.sign_type;
  return out;
}
