import iconv from 'iconv-lite';

// Form and query strings as Alipay reads them: percent-escapes are bytes in the
// request's `_input_charset` (UTF-8 or GBK), so they are decoded to bytes first and to
// text second. A body that is not valid in the charset it declares is refused.

export class CharsetError extends Error {
  readonly code = 'ILLEGAL_CHARSET';
}

function percentBytes(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) out.push(0x20);
    else if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x100)
      out.push(c); // latin1-read raw bytes
    else out.push(...Buffer.from(s[i]!, 'utf8'));
  }
  return Buffer.from(out);
}

export function normaliseCharset(raw: string | undefined): 'UTF-8' | 'GBK' | undefined {
  if (raw === undefined || raw === '') return 'UTF-8';
  const c = raw.trim().toUpperCase();
  if (c === 'UTF-8' || c === 'UTF8') return 'UTF-8';
  if (c === 'GBK' || c === 'GB2312' || c === 'GB18030') return 'GBK';
  return undefined;
}

export function decodeBytes(bytes: Buffer, charset: 'UTF-8' | 'GBK'): string {
  if (charset === 'GBK') return iconv.decode(bytes, 'gbk');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CharsetError('the request is not valid UTF-8 although _input_charset says UTF-8');
  }
}

/** Raw (still escaped) pairs of a form or query string. */
export function rawPairs(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of text.split('&')) {
    if (part === '') continue;
    const i = part.indexOf('=');
    out.push(i < 0 ? [part, ''] : [part.slice(0, i), part.slice(i + 1)]);
  }
  return out;
}

/** Finds `_input_charset` among raw pairs (it is ASCII, so readable before decoding). */
export function declaredCharset(...sources: string[]): string | undefined {
  for (const s of sources) {
    for (const [k, v] of rawPairs(s)) if (k === '_input_charset') return decodeURIComponent(v.replace(/\+/g, ' '));
  }
  return undefined;
}

/** Decodes the pairs of several sources (query first, body wins) in the given charset. */
export function decodeParams(sources: string[], charset: 'UTF-8' | 'GBK'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const s of sources) {
    for (const [k, v] of rawPairs(s))
      out[decodeBytes(percentBytes(k), charset)] = decodeBytes(percentBytes(v), charset);
  }
  return out;
}

function escapeBytes(bytes: Buffer): string {
  let s = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    s += /[A-Za-z0-9\-_.*]/.test(ch) ? ch : b === 0x20 ? '+' : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

/** Encodes params as a form / query string in the charset. */
export function encodeForm(params: Readonly<Record<string, string | undefined>>, charset: 'UTF-8' | 'GBK'): string {
  const enc = (t: string) => escapeBytes(charset === 'GBK' ? iconv.encode(t, 'gbk') : Buffer.from(t, 'utf8'));
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${enc(k)}=${enc(v!)}`)
    .join('&');
}
