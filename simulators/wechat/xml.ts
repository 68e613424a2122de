import { XMLParser, XMLValidator } from 'fast-xml-parser';

// WeChat's v2 bodies are one flat `<xml>` element of text (often CDATA) fields.
// Parsing is deliberately narrow: a DOCTYPE (the door to XXE and entity-expansion
// bombs) is refused before the parser sees the text, entities are never processed,
// nested or repeated fields are refused, and the body is size-limited upstream.

export class XmlInputError extends Error {
  constructor(
    readonly code: 'XML_FORMAT_ERROR' | 'NOT_UTF8' | 'POST_DATA_EMPTY',
    message: string,
  ) {
    super(message);
  }
}

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
});

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseWechatXml(body: Buffer): Record<string, string> {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw new XmlInputError('NOT_UTF8', 'body is not valid UTF-8');
  }
  text = text.replace(/^\uFEFF/, '').trim();
  if (text === '') throw new XmlInputError('POST_DATA_EMPTY', 'empty request body');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw new XmlInputError('XML_FORMAT_ERROR', 'DOCTYPE and ENTITY declarations are not allowed');
  const valid = XMLValidator.validate(text);
  if (valid !== true) throw new XmlInputError('XML_FORMAT_ERROR', `malformed XML: ${valid.err.msg} (line ${valid.err.line})`);
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(text) as Record<string, unknown>;
  } catch (err) {
    // e.g. fast-xml-parser refusing a tag named __proto__
    throw new XmlInputError('XML_FORMAT_ERROR', `malformed XML: ${(err as Error).message}`);
  }
  const roots = Object.keys(doc);
  if (roots.length !== 1 || roots[0] !== 'xml') throw new XmlInputError('XML_FORMAT_ERROR', 'the document must be one <xml> element');
  const root = doc.xml;
  if (root === '' || root === undefined) return {};
  if (typeof root !== 'object' || root === null) throw new XmlInputError('XML_FORMAT_ERROR', '<xml> must hold fields');
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(root)) {
    if (typeof v !== 'string') throw new XmlInputError('XML_FORMAT_ERROR', `field <${k}> must be a single text value`);
    out[k] = v;
  }
  return { ...out };
}

function cdata(v: string): string {
  // "]]>" cannot appear inside CDATA: split it across two sections.
  return `<![CDATA[${v.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
}

/** `<xml>` with every non-empty field; numbers bare, text in CDATA, as WeChat writes them. */
export function buildWechatXml(fields: Record<string, string | undefined>): string {
  const parts = Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `<${k}>${/^\d+$/.test(v!) ? v : cdata(v!)}</${k}>`);
  return `<xml>${parts.join('')}</xml>`;
}
