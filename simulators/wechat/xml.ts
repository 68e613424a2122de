import { XMLParser, XMLValidator } from 'fast-xml-parser';

// WeChat's v2 bodies are one flat `<xml>` element of text (often CDATA) fields.
// Parsing is deliberately narrow: a DOCTYPE (the door to XXE and entity-expansion
// bombs) is refused before the parser sees the text, so only the predefined entities
// can occur; nested or repeated fields and text outside fields are refused, and the
// body is size-limited upstream.

export class XmlInputError extends Error {
  constructor(
    readonly code: 'XML_FORMAT_ERROR' | 'NOT_UTF8' | 'POST_DATA_EMPTY',
    message: string,
  ) {
    super(message);
  }
}

// preserveOrder keeps every text node where it stood, so layout between fields (the
// newlines and indentation of WeChat's own examples, and of clients that pretty-print)
// is dropped while a field's value is kept byte for byte. Like WeChat, the five
// predefined entities and character references are decoded outside CDATA and nothing
// inside it.
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: false, // decoded below, in one pass (see decodeEntities)
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  cdataPropName: '#cdata',
});

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** The predefined entities and character references, in one pass so "&amp;lt;" stays "&lt;". */
function decodeEntities(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#x[0-9A-Fa-f]+|#[0-9]+);/g, (ref, name: string) => {
    if (name[0] !== '#') return PREDEFINED[name]!;
    const cp = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    if (!(cp >= 0x20 || cp === 0x9 || cp === 0xa || cp === 0xd) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      throw new XmlInputError('XML_FORMAT_ERROR', `a character reference names no character: ${ref}`);
    return String.fromCodePoint(cp);
  });
}

type Node = Record<string, unknown>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function nameOf(n: Node): string {
  const keys = Object.keys(n).filter((k) => k !== ':@');
  if (keys.length !== 1) throw new XmlInputError('XML_FORMAT_ERROR', 'malformed XML');
  return keys[0]!;
}

function textOf(field: string, children: Node[]): string {
  let out = '';
  for (const c of children) {
    const kind = nameOf(c);
    if (kind === '#text') out += decodeEntities(String(c['#text']));
    else if (kind === '#cdata') out += (c['#cdata'] as Node[]).map((t) => String(t['#text'] ?? '')).join('');
    else throw new XmlInputError('XML_FORMAT_ERROR', `field <${field}> must be a single text value`);
  }
  return out;
}

export function parseWechatXml(body: Buffer): Record<string, string> {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new XmlInputError('NOT_UTF8', 'body is not valid UTF-8');
  }
  text = text.replace(/^\uFEFF/, '').trim();
  if (text === '') throw new XmlInputError('POST_DATA_EMPTY', 'empty request body');
  if (/<!DOCTYPE|<!ENTITY/i.test(text))
    throw new XmlInputError('XML_FORMAT_ERROR', 'DOCTYPE and ENTITY declarations are not allowed');
  const valid = XMLValidator.validate(text);
  if (valid !== true)
    throw new XmlInputError('XML_FORMAT_ERROR', `malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  let doc: Node[];
  try {
    doc = parser.parse(text) as Node[];
  } catch (err) {
    // e.g. fast-xml-parser refusing a tag named __proto__
    throw new XmlInputError('XML_FORMAT_ERROR', `malformed XML: ${(err as Error).message}`);
  }
  const roots = doc.filter((n) => nameOf(n) !== '#text' || String(n['#text']).trim() !== '');
  if (roots.length !== 1 || nameOf(roots[0]!) !== 'xml')
    throw new XmlInputError('XML_FORMAT_ERROR', 'the document must be one <xml> element');
  const out: Record<string, string> = Object.create(null);
  for (const child of roots[0]!.xml as Node[]) {
    const k = nameOf(child);
    if (k === '#text') {
      if (/[^ \t\r\n]/.test(String(child['#text'])))
        throw new XmlInputError('XML_FORMAT_ERROR', '<xml> holds text outside its fields');
      continue;
    }
    if (k === '#cdata') throw new XmlInputError('XML_FORMAT_ERROR', '<xml> holds a CDATA section outside its fields');
    if (k in Object.prototype) throw new XmlInputError('XML_FORMAT_ERROR', `<${k}> is not a field name`);
    if (k in out) throw new XmlInputError('XML_FORMAT_ERROR', `field <${k}> appears more than once`);
    out[k] = textOf(k, child[k] as Node[]);
  }
  return { ...out };
}

function cdata(v: string): string {
  // "]]>" cannot appear inside CDATA: split it across two sections.
  return `<![CDATA[${v.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

/** Amounts and counts go bare (`<total_fee>1</total_fee>`); ids, times and text in CDATA, as in WeChat's examples. */
function bare(name: string, value: string): boolean {
  return /^\d+$/.test(value) && /(?:fee|_count)(?:_\d+)?$/.test(name);
}

/**
 * `<xml>` with every non-empty field, one per line, laid out as WeChat's answers and
 * notifies are: the documentation's response examples (e.g. the overseas v2 unifiedorder
 * and payment notification pages) put each field on its own line, and real captures show
 * `<xml><return_code>…</return_code>\n<return_msg>…`.
 */
export function buildWechatXml(fields: Record<string, string | undefined>): string {
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `<${k}>${bare(k, v!) ? v : cdata(v!)}</${k}>`);
  return `<xml>${parts.join('\n')}\n</xml>`;
}
