import iconv from 'iconv-lite';

// The query and refund replies are small XML documents declared (and encoded) GB2312.

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

export type XmlNode = string | { [tag: string]: XmlNode | XmlNode[] };

function render(tag: string, v: XmlNode | XmlNode[]): string {
  if (Array.isArray(v)) return v.map((x) => render(tag, x)).join('');
  if (typeof v === 'string') return `<${tag}>${esc(v)}</${tag}>`;
  return `<${tag}>${Object.entries(v).map(([k, x]) => render(k, x)).join('')}</${tag}>`;
}

export function xmlDocument(root: string, body: Record<string, XmlNode | XmlNode[]>, charset: 'gb2312' | 'utf-8' = 'gb2312'): Buffer {
  const text = `<?xml version="1.0" encoding="${charset}"?>\n${render(root, body)}`;
  return charset === 'gb2312' ? iconv.encode(text, 'gbk') : Buffer.from(text, 'utf8');
}
