import iconv from 'iconv-lite';

// The gateway speaks GB2312/GBK: form bodies and query strings carry Chinese values
// (bank names, 支付完成) percent-encoded as GBK bytes.

const UNRESERVED = /[A-Za-z0-9\-_.*]/;

export function encodeValue(value: string, charset = 'gbk'): string {
  let out = '';
  for (const ch of value) {
    if (UNRESERVED.test(ch)) out += ch;
    else if (ch === ' ') out += '+';
    else for (const b of iconv.encode(ch, charset)) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function encodeForm(fields: Record<string, string>, charset = 'gbk'): string {
  return Object.entries(fields)
    .map(([k, v]) => `${encodeValue(k, charset)}=${encodeValue(v, charset)}`)
    .join('&');
}

function decodeComponent(part: Buffer, charset: string): string {
  const bytes: number[] = [];
  const hex = (b: number | undefined) => b !== undefined && /[0-9a-fA-F]/.test(String.fromCharCode(b));
  for (let i = 0; i < part.length; i++) {
    const b = part[i]!;
    if (b === 0x2b) bytes.push(0x20);
    else if (b === 0x25 && hex(part[i + 1]) && hex(part[i + 2])) {
      bytes.push(parseInt(String.fromCharCode(part[i + 1]!, part[i + 2]!), 16));
      i += 2;
    } else bytes.push(b);
  }
  return iconv.decode(Buffer.from(bytes), charset);
}

/** Parses an urlencoded body or query string, bytes as sent; later duplicates win. */
export function decodeForm(raw: Buffer | string, charset = 'gbk'): Record<string, string> {
  const buf = Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'utf8');
  const out: Record<string, string> = {};
  let start = 0;
  while (start <= buf.length) {
    let end = buf.indexOf(0x26, start);
    if (end < 0) end = buf.length;
    const part = buf.subarray(start, end);
    if (part.length) {
      const eq = part.indexOf(0x3d);
      out[decodeComponent(eq < 0 ? part : part.subarray(0, eq), charset)] =
        eq < 0 ? '' : decodeComponent(part.subarray(eq + 1), charset);
    }
    start = end + 1;
  }
  return out;
}
