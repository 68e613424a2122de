import { XMLParser } from 'fast-xml-parser';
import iconv from 'iconv-lite';

// Query and refund replies: small XML documents, GB2312 (or UTF-8 for the *_utf8.jsp
// pages). The declared encoding decides how the bytes are read; DOCTYPEs are refused and
// entities never expanded.

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => name === 'order' || name === 'refund',
});

export class BankXmlError extends Error {}

export function decodeXml(body: Buffer): string {
  const head = body.subarray(0, 200).toString('latin1');
  const declared = /encoding=["']([\w-]+)["']/i.exec(head)?.[1]?.toLowerCase() ?? 'gbk';
  const charset = declared === 'gb2312' || declared === 'gb18030' ? 'gbk' : declared;
  if (!iconv.encodingExists(charset)) throw new BankXmlError(`unknown XML encoding ${declared}`);
  return iconv.decode(body, charset);
}

export function parseBankXml(body: Buffer): Record<string, any> {
  const text = decodeXml(body);
  if (/<!DOCTYPE/i.test(text)) throw new BankXmlError('DOCTYPE not allowed');
  let doc: unknown;
  try {
    doc = parser.parse(text, true);
  } catch (err) {
    throw new BankXmlError(`not XML: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object') throw new BankXmlError('empty XML');
  return doc as Record<string, any>;
}

/** Unescapes the five XML entities (entities are not processed by the parser). */
export function xmlText(v: unknown): string {
  if (v === undefined || v === null) return '';
  return String(v).replace(
    /&(lt|gt|quot|apos|amp);/g,
    (_m, e: string) => ({ lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' })[e]!,
  );
}
