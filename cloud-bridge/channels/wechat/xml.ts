import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { Fields } from './sign.js';

// WeChat v2 messages are one flat <xml> element of text fields, often in CDATA. Anything
// else is refused before a value is read: a DOCTYPE (the door to XXE and entity bombs —
// WeChat never sends one), nested or repeated elements (a signature is over flat unique
// fields, so duplicates would let two readers see two messages), oversized bodies.

export const MAX_XML_BYTES = 64 * 1024;

export class WechatXmlError extends Error {
  constructor(
    readonly code: 'xml_too_large' | 'xml_doctype' | 'xml_malformed' | 'xml_not_utf8' | 'xml_empty' | 'xml_shape',
    message: string,
  ) {
    super(message);
    this.name = 'WechatXmlError';
  }
}

// preserveOrder keeps every text node where it stood, so the whitespace WeChat lays
// between fields ("<xml>\n<return_code>…") can be told apart from text inside a field:
// the first is layout and is dropped, the second is the value, kept byte for byte
// (trimValues:false). CDATA comes back as its own node, so entities are decoded only
// outside it, as XML says.
const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: true,
  parseTagValue: false, // "0001" and long ids stay strings
  trimValues: false,
  cdataPropName: '#cdata',
  // Only the five predefined entities and character references can appear (DOCTYPE is
  // refused first, so no entity can be declared); HTML entities stay off.
  processEntities: false, // decoded below, in one pass (see decodeEntities)
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** The predefined entities and character references, in one pass so "&amp;lt;" stays "&lt;". */
function decodeEntities(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#x[0-9A-Fa-f]+|#[0-9]+);/g, (ref, name: string) => {
    if (name[0] !== '#') return PREDEFINED[name]!;
    const cp = name[1] === 'x' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
    if (!(cp >= 0x20 || cp === 0x9 || cp === 0xa || cp === 0xd) || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      throw new WechatXmlError('xml_malformed', `a character reference names no character: ${ref}`);
    return String.fromCodePoint(cp);
  });
}

type Node = Record<string, unknown>;

function nodeName(n: Node): string {
  const keys = Object.keys(n).filter((k) => k !== ':@');
  if (keys.length !== 1) throw new WechatXmlError('xml_malformed', 'unexpected XML node');
  return keys[0]!;
}

/** The text of one field: its text and CDATA nodes in order; a child element is refused. */
function fieldText(name: string, children: Node[]): string {
  let out = '';
  for (const c of children) {
    const kind = nodeName(c);
    if (kind === '#text') out += decodeEntities(String(c['#text']));
    else if (kind === '#cdata') out += (c['#cdata'] as Node[]).map((t) => String(t['#text'] ?? '')).join('');
    else throw new WechatXmlError('xml_shape', `the field <${name}> has child elements; WeChat fields are flat`);
  }
  return out;
}

export function parseWechatXml(input: Buffer | string, maxBytes = MAX_XML_BYTES): Fields {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes)
    throw new WechatXmlError('xml_too_large', `the XML body is ${size} bytes; at most ${maxBytes} are accepted`);
  let text: string;
  if (typeof input === 'string') text = input;
  else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    } catch {
      throw new WechatXmlError('xml_not_utf8', 'the XML body is not valid UTF-8');
    }
  }
  text = text.replace(/^\uFEFF/, '').trim();
  if (text === '') throw new WechatXmlError('xml_empty', 'the body is empty; a WeChat message is one <xml> document');
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) {
    throw new WechatXmlError(
      'xml_doctype',
      'the XML declares a DOCTYPE or ENTITY; WeChat messages never do, so it is refused unread (XXE / entity expansion)',
    );
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new WechatXmlError(
      'xml_malformed',
      `the body is not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`,
    );
  }
  let doc: Node[];
  try {
    doc = parser.parse(text) as Node[];
  } catch (err) {
    throw new WechatXmlError('xml_malformed', `the body is not well-formed XML: ${(err as Error).message}`);
  }
  const roots = doc.filter((n) => nodeName(n) !== '#text' || String(n['#text']).trim() !== '');
  if (roots.length !== 1 || nodeName(roots[0]!) !== 'xml') {
    throw new WechatXmlError(
      'xml_shape',
      `the root element must be one <xml>, found ${roots.map((r) => `<${nodeName(r)}>`).join(', ') || 'none'}`,
    );
  }
  const out: Fields = Object.create(null);
  for (const child of roots[0]!.xml as Node[]) {
    const k = nodeName(child);
    if (k === '#text') {
      // Layout between fields is whitespace; anything else is text outside a field.
      if (/[^ \t\r\n]/.test(String(child['#text'])))
        throw new WechatXmlError('xml_malformed', '<xml> holds text outside its fields');
      continue;
    }
    if (k === '#cdata') throw new WechatXmlError('xml_malformed', '<xml> holds a CDATA section outside its fields');
    if (k in Object.prototype) throw new WechatXmlError('xml_shape', `<${k}> is not a WeChat field name`);
    if (k in out) throw new WechatXmlError('xml_shape', `the field <${k}> appears more than once`);
    out[k] = fieldText(k, child[k] as Node[]);
  }
  return { ...out };
}

/** `<xml><k><![CDATA[v]]></k>…</xml>`; a value holding `]]>` is split across two sections. */
export function buildWechatXml(fields: Readonly<Fields>): string {
  let out = '<xml>';
  for (const [k, v] of Object.entries(fields)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`not a WeChat field name: ${k}`);
    out += `<${k}><![CDATA[${v.replaceAll(']]>', ']]]]><![CDATA[>')}]]></${k}>`;
  }
  return `${out}</xml>`;
}
