import iconv from 'iconv-lite';

// The query and refund replies are small XML documents laid out as captured answers of the
// real gateway are (test/fixtures/wire/bank/SOURCES.md): a single-quoted declaration, then
// the elements with no whitespace between them, encoded GB2312 (UTF-8 for the *_utf8.jsp pages).

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

export type XmlNode = string | { [tag: string]: XmlNode | XmlNode[] };

function render(tag: string, v: XmlNode | XmlNode[]): string {
  if (Array.isArray(v)) return v.map((x) => render(tag, x)).join('');
  if (typeof v === 'string') return `<${tag}>${esc(v)}</${tag}>`;
  return `<${tag}>${Object.entries(v)
    .map(([k, x]) => render(k, x))
    .join('')}</${tag}>`;
}

export function xmlDocument(
  root: string,
  body: Record<string, XmlNode | XmlNode[]>,
  charset: 'gb2312' | 'utf-8' = 'gb2312',
): Buffer {
  const text = `<?xml version='1.0' encoding='${charset === 'utf-8' ? 'UTF-8' : 'gb2312'}'?>${render(root, body)}`;
  return charset === 'gb2312' ? iconv.encode(text, 'gbk') : Buffer.from(text, 'utf8');
}
