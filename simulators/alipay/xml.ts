import iconv from 'iconv-lite';

// The MAPI XML envelope (protocols A2): <alipay><is_success>T|F</is_success>
// [<error>…</error>] [<request><param name="…">…</param></request>]
// [<response><NAME>…fields…</NAME></response><sign>…</sign><sign_type>…</sign_type>]</alipay>.
// The signature covers the fields inside <response><NAME> only.

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);

export interface XmlReply {
  isSuccess: boolean;
  error?: string;
  detail?: string;
  request?: Readonly<Record<string, string>>;
  response?: { name: string; fields: Readonly<Record<string, string | undefined>> };
  sign?: { sign: string; sign_type: string };
}

export function buildXml(r: XmlReply, charset: 'UTF-8' | 'GBK'): Buffer {
  let x = `<?xml version="1.0" encoding="${charset}"?>\n<alipay><is_success>${r.isSuccess ? 'T' : 'F'}</is_success>`;
  if (r.error) x += `<error>${esc(r.error)}</error>`;
  if (r.detail) x += `<detail>${esc(r.detail)}</detail>`;
  if (r.request) {
    x += '<request>';
    for (const [k, v] of Object.entries(r.request)) if (k !== 'sign') x += `<param name="${esc(k)}">${esc(v)}</param>`;
    x += '</request>';
  }
  if (r.response) {
    x += `<response><${r.response.name}>`;
    // Alphabetical, as real replies are.
    for (const k of Object.keys(r.response.fields).sort()) {
      const v = r.response.fields[k];
      if (v !== undefined && v !== '') x += `<${k}>${esc(v)}</${k}>`;
    }
    x += `</${r.response.name}></response>`;
  }
  if (r.sign) x += `<sign>${esc(r.sign.sign)}</sign><sign_type>${esc(r.sign.sign_type)}</sign_type>`;
  x += '</alipay>';
  return charset === 'GBK' ? iconv.encode(x, 'gbk') : Buffer.from(x, 'utf8');
}
