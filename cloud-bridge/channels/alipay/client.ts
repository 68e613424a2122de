import type { ChannelContext } from '../channel.js';
import { alipayConfig, alipayKeys, type AlipayConfig, type AlipayKeys } from './config.js';
import { AlipayError } from './errors.js';
import { encodeForm } from './form.js';
import { alipayFetch } from './http.js';
import { responsePreSignString, signParams, verifyPreSign, type SignType } from './sign.js';
import { parseAlipayXml, type AlipayXml } from './xml.js';
import { inlineHandler } from '../../server/page-security.js';

// One Alipay account's view of the MAPI gateway: signed links and forms for the browser
// services, signed form POSTs for the server ones, and replies verified before they are
// believed (the <response> fields carry Alipay's signature).

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// A customer's payment code is a bearer credential while it lives: never kept in full.
function maskCodes(text: string): string {
  return text.replace(/(buyer_identity_code=)(\d{2})\d+(\d{2})/g, '$1$2**************$3');
}

export class AlipayClient {
  readonly cfg: AlipayConfig;
  readonly keys: AlipayKeys;

  constructor(private readonly ctx: ChannelContext) {
    this.cfg = alipayConfig(ctx.account);
    this.keys = alipayKeys(ctx.account, this.cfg);
  }

  /** The service's parameters with partner, charset and signature added. */
  signed(service: string, params: Readonly<Record<string, string | undefined>>): Record<string, string> {
    const all: Record<string, string> = { service, partner: this.cfg.partner, _input_charset: this.cfg.charset };
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') all[k] = v;
    all.sign = signParams(
      all,
      this.cfg.signType,
      { md5Key: this.keys.md5Key, privateKey: this.keys.privateKey },
      this.cfg.charset,
    );
    all.sign_type = this.cfg.signType;
    return all;
  }

  /** A GET link to the gateway (create_forex_trade's redirect). */
  link(service: string, params: Readonly<Record<string, string | undefined>>): string {
    return `${this.cfg.gatewayUrl}?${encodeForm(this.signed(service, params), this.cfg.charset)}`;
  }

  /** The same as an auto-submitting form (what odoo and Alipay's samples serve). */
  form(service: string, params: Readonly<Record<string, string | undefined>>): string {
    const fields = Object.entries(this.signed(service, params))
      .map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`)
      .join('\n');
    return `<!doctype html><html><head><meta charset="${this.cfg.charset}"><title>Alipay</title></head>
<body onload="${inlineHandler('document.forms[0].submit()')}"><form method="post" accept-charset="${this.cfg.charset}" action="${escapeHtml(`${this.cfg.gatewayUrl}?_input_charset=${this.cfg.charset}`)}">
${fields}
<noscript><button type="submit">Continue to Alipay</button></noscript></form></body></html>`;
  }

  private async post(
    gateway: string,
    service: string,
    params: Readonly<Record<string, string | undefined>>,
  ): Promise<{ status: number; body: Buffer; contentType: string }> {
    const body = encodeForm(this.signed(service, params), this.cfg.charset);
    const url = `${gateway}?_input_charset=${this.cfg.charset}`;
    await this.ctx.record({ direction: 'request', endpoint: service, body: maskCodes(body) });
    let res: Awaited<ReturnType<typeof alipayFetch>>;
    try {
      res = await alipayFetch(
        url,
        {
          method: 'POST',
          headers: { 'content-type': `application/x-www-form-urlencoded; charset=${this.cfg.charset}` },
          body,
          signal: AbortSignal.timeout(this.cfg.timeoutMs),
        },
        this.cfg.caPem,
      );
    } catch (err) {
      const e = err as Error;
      if (e.name === 'TimeoutError' || e.name === 'AbortError')
        throw new AlipayError('channel_timeout', `Alipay did not answer ${service} within ${this.cfg.timeoutMs} ms`);
      throw new AlipayError(
        'channel_unavailable',
        `Alipay could not be reached for ${service}: ${(e.cause as Error | undefined)?.message ?? e.message}`,
      );
    }
    let bytes: Buffer;
    try {
      bytes = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      throw new AlipayError('channel_timeout', `Alipay's answer to ${service} was cut off: ${(err as Error).message}`);
    }
    const contentType = res.headers.get('content-type') ?? '';
    await this.ctx.record({
      direction: 'response',
      endpoint: service,
      body: bytes.toString(/gbk|gb2312/i.test(contentType) ? 'latin1' : 'utf8'),
      httpStatus: res.status,
    });
    if (res.status >= 500)
      throw new AlipayError('channel_unavailable', `Alipay answered ${service} with HTTP ${res.status}`);
    return { status: res.status, body: bytes, contentType };
  }

  /** A server-to-server call whose reply is XML; a signed <response> is verified. */
  async call(
    service: string,
    params: Readonly<Record<string, string | undefined>>,
    where: 'online' | 'instore' = 'online',
  ): Promise<AlipayXml> {
    const res = await this.post(where === 'online' ? this.cfg.gatewayUrl : this.cfg.inStoreGatewayUrl, service, params);
    if (res.status !== 200)
      throw new AlipayError('channel_error', `Alipay answered ${service} with HTTP ${res.status}`);
    const xml = parseAlipayXml(res.body, res.contentType);
    // A signed answer is believed only if its signature verifies; Alipay signs every answer
    // that has a <response>, and may sign a refusal (`error=CODE`).
    if ((xml.isSuccess && xml.responseName) || xml.sign) this.verifyResponse(service, xml);
    return xml;
  }

  private verifyResponse(service: string, xml: AlipayXml): void {
    if (!xml.sign)
      throw new AlipayError('signature_invalid', `Alipay's reply to ${service} is not signed`, 'ILLEGAL_SIGN');
    const type = (xml.signType ?? this.cfg.signType).toUpperCase() as SignType;
    if (type !== this.cfg.signType) {
      throw new AlipayError(
        'signature_invalid',
        `Alipay's reply to ${service} is signed ${type} but this account uses ${this.cfg.signType}`,
        'ILLEGAL_SIGN_TYPE',
      );
    }
    const pre = xml.responseName ? responsePreSignString(xml.response) : `error=${xml.error ?? ''}`;
    const ok = verifyPreSign(
      pre,
      type,
      xml.sign,
      { md5Key: this.keys.md5Key, publicKey: this.keys.alipayPublicKey },
      this.cfg.charset,
    );
    if (!ok) {
      const what = xml.responseName ? `<response><${xml.responseName}>` : '<error>';
      throw new AlipayError(
        'signature_invalid',
        `Alipay's reply to ${service}: the ${type} signature over ${what} does not verify`,
        'ILLEGAL_SIGN',
      );
    }
  }

  /** A call whose reply is plain text (notify_verify, rate and legacy statement files). */
  async text(service: string, params: Readonly<Record<string, string | undefined>>): Promise<string> {
    const res = await this.post(this.cfg.gatewayUrl, service, params);
    if (res.status !== 200)
      throw new AlipayError('channel_error', `Alipay answered ${service} with HTTP ${res.status}`);
    const text = res.body.toString('utf8');
    // Access errors come back as the XML envelope even for text services.
    if (/^\s*(<\?xml[^>]*>\s*)?<alipay>/.test(text)) {
      const xml = parseAlipayXml(res.body, res.contentType);
      if (!xml.isSuccess)
        throw new AlipayError('channel_error', `Alipay refused ${service}: ${xml.error ?? 'unknown error'}`, xml.error);
    }
    return text;
  }

  /** GET of a daily file (the SFTP folder, mirrored over HTTP). */
  async file(name: string): Promise<{ status: number; body: Buffer }> {
    const url = `${this.cfg.statementBaseUrl}/${name}`;
    const password = this.keys.statementPassword ?? this.keys.md5Key ?? '';
    let res: Awaited<ReturnType<typeof alipayFetch>>;
    try {
      res = await alipayFetch(
        url,
        {
          headers: { authorization: `Basic ${Buffer.from(`${this.cfg.partner}:${password}`).toString('base64')}` },
          signal: AbortSignal.timeout(this.cfg.timeoutMs * 4),
        },
        this.cfg.caPem,
      );
    } catch (err) {
      throw new AlipayError(
        'channel_unavailable',
        `The Alipay file ${name} could not be fetched: ${(err as Error).message}`,
      );
    }
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status === 401 || res.status === 403)
      throw new AlipayError('config_invalid', `The Alipay file folder refused our credentials (HTTP ${res.status})`);
    return { status: res.status, body };
  }
}
