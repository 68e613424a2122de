import iconv from 'iconv-lite';

// The MAPI XML envelope (docs/protocols/alipay.md, Transport): <alipay><is_success>T|F</is_success>
// [<error>…</error>] [<request><param name="…">…</param></request>]
// [<response><NAME>…fields…</NAME></response><sign>…</sign><sign_type>…</sign_type>]</alipay>.
//
// Layout: a successful answer is laid out as Alipay's gateway examples show it (one element a
// line, nested elements indented, e.g. the sample replies of
// https://global.alipay.com/docs/ac/global/overseas_query and …/spot_pay), so a client that
// only reads the compact form fails here, not in production. A gateway refusal stays on one
// line as in a real reply captured in the original research
// (`<alipay><is_success>F</is_success><error>ILLEGAL_SIGN</error></alipay>`).
// The bytes are in the request's `_input_charset`, which the declaration names.

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

const INDENT = '  ';

export interface XmlReply {
  isSuccess: boolean;
  error?: string;
  request?: Readonly<Record<string, string>>;
  response?: { name: string; fields: Readonly<Record<string, string | undefined>> };
  sign?: { sign: string; sign_type: string };
}

/** The fields that go on the wire (and into the signature): absent ones are left out. */
export function presentFields(fields: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(fields).sort()) {
    const v = fields[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

export function buildXml(r: XmlReply, charset: 'UTF-8' | 'GBK'): Buffer {
  const head = `<?xml version="1.0" encoding="${charset}"?>\n`;
  let x: string;
  if (!r.isSuccess) {
    x = `${head.trimEnd()}<alipay><is_success>F</is_success>${r.error ? `<error>${esc(r.error)}</error>` : ''}</alipay>`;
  } else {
    const lines = ['<alipay>', `${INDENT}<is_success>T</is_success>`];
    if (r.request) {
      lines.push(`${INDENT}<request>`);
      for (const [k, v] of Object.entries(r.request))
        if (k !== 'sign') lines.push(`${INDENT}${INDENT}<param name="${esc(k)}">${esc(v)}</param>`);
      lines.push(`${INDENT}</request>`);
    }
    if (r.response) {
      lines.push(`${INDENT}<response>`, `${INDENT}${INDENT}<${r.response.name}>`);
      // Alphabetical, as real replies are.
      for (const [k, v] of Object.entries(presentFields(r.response.fields)))
        lines.push(`${INDENT.repeat(3)}<${k}>${esc(v)}</${k}>`);
      lines.push(`${INDENT}${INDENT}</${r.response.name}>`, `${INDENT}</response>`);
    }
    if (r.sign)
      lines.push(
        `${INDENT}<sign>${esc(r.sign.sign)}</sign>`,
        `${INDENT}<sign_type>${esc(r.sign.sign_type)}</sign_type>`,
      );
    lines.push('</alipay>');
    x = head + lines.join('\n');
  }
  return charset === 'GBK' ? iconv.encode(x, 'gbk') : Buffer.from(x, 'utf8');
}
