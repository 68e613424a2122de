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

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false, // "0001" and long ids stay strings
  trimValues: false,
  // Only the five predefined entities and character references can appear (DOCTYPE is
  // refused first, so no entity can be declared); HTML entities stay off.
  processEntities: true,
  htmlEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
});

export function parseWechatXml(input: Buffer | string, maxBytes = MAX_XML_BYTES): Fields {
  const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (size > maxBytes) throw new WechatXmlError('xml_too_large', `the XML body is ${size} bytes; at most ${maxBytes} are accepted`);
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
    throw new WechatXmlError('xml_doctype', 'the XML declares a DOCTYPE or ENTITY; WeChat messages never do, so it is refused unread (XXE / entity expansion)');
  }
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new WechatXmlError('xml_malformed', `the body is not well-formed XML: ${valid.err.msg} (line ${valid.err.line}, column ${valid.err.col})`);
  }
  const doc = parser.parse(text) as Record<string, unknown>;
  const roots = Object.keys(doc);
  if (roots.length !== 1 || roots[0] !== 'xml') {
    throw new WechatXmlError('xml_shape', `the root element must be <xml>, found ${roots.map((r) => `<${r}>`).join(', ') || 'none'}`);
  }
  const root = doc.xml;
  if (root === '' || root === undefined) return {};
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw new WechatXmlError('xml_shape', Array.isArray(root) ? 'there is more than one <xml> element' : '<xml> holds text instead of fields');
  }
  const out: Fields = Object.create(null);
  for (const [k, v] of Object.entries(root as Record<string, unknown>)) {
    if (Array.isArray(v)) throw new WechatXmlError('xml_shape', `the field <${k}> appears more than once`);
    if (typeof v === 'object' && v !== null) throw new WechatXmlError('xml_shape', `the field <${k}> has child elements; WeChat fields are flat`);
    out[k] = v === undefined || v === null ? '' : String(v);
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
