import { XMLParser, XMLValidator } from 'fast-xml-parser';
import iconv from 'iconv-lite';
import { invalid, parseAmount, parseDate } from './amounts.js';
import type { StatementLine } from './index.js';

// OFX bank statements, both generations (Open Financial Exchange Specification 1.6 for 1.x,
// 2.1.1 for 2.x). 1.x is SGML: a block of "NAME:VALUE" header lines, then elements whose leaf
// values have no closing tag; 2.x is XML with an <?OFX …?> processing instruction. Both come
// down to one XML document here (1.x's leaves closed), which fast-xml-parser checks before it is
// read, so a truncated or broken file is refused with the parser's line and reason rather than
// read as fewer transactions. The transactions are every <STMTTRN> of a <BANKTRANLIST> (bank
// and credit-card statements alike).
//
// The npm OFX parsers (ofx, node-ofx-parser, ofx-js) were looked at: each turns SGML into XML
// with a regular expression and hands it to a lenient parser, so a cut-off file parses as a
// shorter statement; this does the same conversion but keeps the validation.

interface Token {
  close: boolean;
  name: string;
  text: string;
}

/** OFX 1.x SGML → XML: a leaf's value is closed where the next tag begins. */
function sgmlToXml(body: string): string {
  const tokens: Token[] = [];
  const re = /<(\/?)([A-Za-z0-9._]+)>([^<]*)/g;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(body))) {
    if (body.slice(consumed, m.index).trim())
      invalid(`OFX: unexpected text "${body.slice(consumed, m.index).trim().slice(0, 40)}"`);
    tokens.push({ close: m[1] === '/', name: m[2]!, text: m[3]! });
    consumed = re.lastIndex;
  }
  let xml = '';
  tokens.forEach((t, i) => {
    const value = t.text.trim();
    if (t.close) {
      xml += `</${t.name}>`;
    } else if (value) {
      const next = tokens[i + 1];
      xml += `<${t.name}>${escapeXml(value)}`;
      if (!(next && next.close && next.name === t.name)) xml += `</${t.name}>`;
    } else {
      xml += `<${t.name}>`;
    }
    // Keep the line breaks, so the parser's line numbers are the file's.
    xml += '\n'.repeat(t.text.split('\n').length - 1);
  });
  return xml;
}

function escapeXml(v: string): string {
  // A 1.x value may hold a bare "&" (SGML allows it where XML does not).
  return v.replace(/&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g, '&amp;');
}

function decode(body: Buffer): string {
  const head = body.subarray(0, 512).toString('latin1');
  // 1.x names its character set in the header; 1252 is what NZ banks' exports use.
  if (/CHARSET:\s*1252/i.test(head) || /ENCODING:\s*USASCII/i.test(head)) return iconv.decode(body, 'win1252');
  return body.toString('utf8');
}

export function parseOfxStatement(body: Buffer): StatementLine[] {
  const text = decode(body).replace(/^\uFEFF/, '');
  let xml: string;
  if (/^\s*<\?xml/.test(text)) {
    if (!/<\?OFX\b/.test(text.slice(0, 1000))) invalid('OFX: an XML file without the <?OFX …?> header');
    xml = text;
  } else if (/^\s*OFXHEADER:\s*100/.test(text)) {
    const start = text.indexOf('<OFX>');
    if (start < 0) invalid('OFX: no <OFX> element after the header');
    xml = '\n'.repeat(text.slice(0, start).split('\n').length - 1) + sgmlToXml(text.slice(start));
  } else {
    invalid('not an OFX file: it starts with neither "OFXHEADER:100" (OFX 1.x) nor "<?xml" (OFX 2.x)');
  }

  const check = XMLValidator.validate(xml);
  if (check !== true) invalid(`OFX: ${xmlProblem(check.err.msg, check.err.line)}`);

  const doc = new XMLParser({
    ignoreDeclaration: true,
    ignorePiTags: true,
    parseTagValue: false,
    trimValues: true,
    isArray: (name) => name === 'STMTTRN' || name === 'BANKTRANLIST',
  }).parse(xml) as Record<string, unknown>;
  const ofx = doc.OFX as Record<string, unknown> | undefined;
  if (!ofx) invalid('OFX: no <OFX> element');

  const lists: Record<string, unknown>[] = [];
  collect(ofx, 'BANKTRANLIST', lists);
  if (lists.length === 0) invalid('OFX: no transaction list (<BANKTRANLIST>) in the statement');

  const out: StatementLine[] = [];
  for (const list of lists) {
    for (const raw of (list.STMTTRN as Record<string, unknown>[] | undefined) ?? []) {
      const t = raw as Record<string, string | undefined>;
      const where = `OFX, transaction ${out.length + 1}${t.FITID ? ` (${t.FITID})` : ''}`;
      if (!t.DTPOSTED || !t.TRNAMT) invalid(`${where}: no <DTPOSTED> or no <TRNAMT>`);
      // OFX amounts may use a comma as the decimal mark.
      const amount = /^[+-]?\d*,\d{1,2}$/.test(t.TRNAMT) ? t.TRNAMT.replace(',', '.') : t.TRNAMT;
      const line: StatementLine = {
        date: parseDate(String(t.DTPOSTED).slice(0, 8), 'ymd', where),
        amountMinor: parseAmount(amount, where),
      };
      const payee = t.NAME ?? (raw.PAYEE as Record<string, string> | undefined)?.NAME;
      if (payee) line.payee = payee;
      if (t.MEMO) line.description = t.MEMO;
      if (t.REFNUM ?? t.CHECKNUM) line.reference = t.REFNUM ?? t.CHECKNUM;
      if (t.FITID) line.id = t.FITID;
      out.push(line);
    }
  }
  return out;
}

function collect(node: unknown, name: string, into: Record<string, unknown>[]): void {
  if (Array.isArray(node)) {
    for (const n of node) collect(n, name, into);
    return;
  }
  if (!node || typeof node !== 'object') return;
  for (const [k, v] of Object.entries(node)) {
    if (k === name) {
      for (const item of v as unknown[]) {
        if (item && typeof item === 'object') into.push(item as Record<string, unknown>);
      }
    } else {
      collect(v, name, into);
    }
  }
}

/** fast-xml-parser names elements left open as a JSON list; say it as a person would. */
function xmlProblem(msg: string, line: number): string {
  const open = /^Invalid '(\[[\s\S]*\])' found\.$/.exec(msg);
  if (open) {
    try {
      const names = JSON.parse(open[1]!) as string[];
      // Found at the end of the file, so no line is worth naming.
      return `the file ends inside ${names.map((n) => `<${n}>`).join(' ')}: it is cut short or an element is never closed`;
    } catch {
      // fall through to the parser's own words
    }
  }
  return `${msg} (line ${line})`;
}
