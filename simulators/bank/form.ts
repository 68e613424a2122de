import iconv from 'iconv-lite';

// The gateway's side of application/x-www-form-urlencoded, written from the HTML
// standard's definition (WHATWG URL, "application/x-www-form-urlencoded": the urlencoded
// serializer and parser), not from the bridge's client: the text is first encoded in the
// page's charset (GBK for PayEase's pages), then every byte outside
// `*-._0-9A-Za-z` is written %XX (uppercase hex) and the space as `+`. Parsing reverses it on
// bytes: `+` is a space, %XX a byte, and the bytes are decoded in the charset at the end, so a
// GBK character split over two %XX escapes comes back whole.

// The serializer's bytes that stay as they are: 0x2A, 0x2D, 0x2E, 0x30–0x39, 0x41–0x5A, 0x5F, 0x61–0x7A.
const KEEP = new Set<number>([0x2a, 0x2d, 0x2e, 0x5f]);
for (let b = 0x30; b <= 0x39; b++) KEEP.add(b);
for (let b = 0x41; b <= 0x5a; b++) KEEP.add(b);
for (let b = 0x61; b <= 0x7a; b++) KEEP.add(b);

const HEX = '0123456789ABCDEF';

function serializeBytes(bytes: Buffer): string {
  const out: string[] = [];
  for (const b of bytes) {
    if (b === 0x20) out.push('+');
    else if (KEEP.has(b)) out.push(String.fromCharCode(b));
    else out.push('%', HEX[b >> 4]!, HEX[b & 15]!);
  }
  return out.join('');
}

export function encodeForm(fields: Record<string, string>, charset = 'gbk'): string {
  const pairs: string[] = [];
  for (const name of Object.keys(fields)) {
    pairs.push(
      `${serializeBytes(iconv.encode(name, charset))}=${serializeBytes(iconv.encode(fields[name]!, charset))}`,
    );
  }
  return pairs.join('&');
}

/** Bytes of one name or value: the raw bytes as latin1 text, `+` → space, %XX → the byte. */
function parseBytes(latin1: string, charset: string): string {
  const text = latin1
    .replace(/\+/g, ' ')
    .replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
  return iconv.decode(Buffer.from(text, 'latin1'), charset);
}

/** Parses a form body or query string exactly as received; a later duplicate name wins. */
export function decodeForm(raw: Buffer | string, charset = 'gbk'): Record<string, string> {
  // latin1 maps each byte to one character and back, so no byte is lost before decoding.
  const text = Buffer.isBuffer(raw) ? raw.toString('latin1') : Buffer.from(raw, 'utf8').toString('latin1');
  const out: Record<string, string> = {};
  for (const seq of text.split('&')) {
    if (seq === '') continue;
    const eq = seq.indexOf('=');
    const name = eq < 0 ? seq : seq.slice(0, eq);
    const value = eq < 0 ? '' : seq.slice(eq + 1);
    out[parseBytes(name, charset)] = parseBytes(value, charset);
  }
  return out;
}

/** The charset a request declares (`; charset=utf-8`), else the gateway's GBK. */
export function charsetOf(contentType: string | undefined): string {
  const cs = /charset=([\w-]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (cs && iconv.encodingExists(cs)) return cs === 'gb2312' ? 'gbk' : cs;
  return 'gbk';
}
