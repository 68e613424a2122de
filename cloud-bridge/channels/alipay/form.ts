import iconv from 'iconv-lite';
import type { Charset } from './sign.js';

// Form bodies in the account's `_input_charset`: percent-escapes are bytes in that
// charset (GBK or UTF-8), decoded to bytes first and to text second.

function percentBytes(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x2b) out.push(0x20);
    else if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x100) out.push(c);
    else out.push(...Buffer.from(s[i]!, 'utf8'));
  }
  return Buffer.from(out);
}

export function charsetOf(raw: string | undefined): Charset | undefined {
  if (raw === undefined || raw === '') return undefined;
  const c = raw.trim().toUpperCase();
  if (c === 'UTF-8' || c === 'UTF8') return 'UTF-8';
  if (c === 'GBK' || c === 'GB2312' || c === 'GB18030') return 'GBK';
  return undefined;
}

function decode(bytes: Buffer, charset: Charset): string {
  if (charset === 'GBK') return iconv.decode(bytes, 'gbk');
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

export function rawPairs(text: string): Array<[string, string]> {
  return text
    .split('&')
    .filter((p) => p !== '')
    .map((p) => {
      const i = p.indexOf('=');
      return i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)];
    });
}

/** The `_input_charset` a form declares (readable before decoding: it is ASCII). */
export function declaredFormCharset(text: string): string | undefined {
  for (const [k, v] of rawPairs(text)) if (k === '_input_charset') return decodeURIComponent(v.replace(/\+/g, ' '));
  return undefined;
}

/** Decodes a form body; throws TypeError when the bytes are not valid in the charset. */
export function decodeForm(body: Buffer, charset: Charset): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of rawPairs(body.toString('latin1')))
    out[decode(percentBytes(k), charset)] = decode(percentBytes(v), charset);
  return out;
}

function escapeBytes(bytes: Buffer): string {
  let s = '';
  for (const b of bytes) {
    const ch = String.fromCharCode(b);
    s += /[A-Za-z0-9\-_.*~]/.test(ch) ? ch : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return s;
}

export function encodeForm(params: Readonly<Record<string, string | undefined>>, charset: Charset): string {
  const enc = (t: string) => escapeBytes(charset === 'GBK' ? iconv.encode(t, 'gbk') : Buffer.from(t, 'utf8'));
  return Object.entries(params)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${enc(k)}=${enc(v!)}`)
    .join('&');
}
