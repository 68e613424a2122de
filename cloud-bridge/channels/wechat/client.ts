import { randomBytes } from 'node:crypto';
import { KauriError } from '../../../protocol/errors.js';
import type { ChannelContext } from '../channel.js';
import type { WechatAccount } from './config.js';
import { postToWechat } from './http.js';
import { checkSignature, sign, type Fields } from './sign.js';
import { buildWechatXml, parseWechatXml, WechatXmlError } from './xml.js';

// One v2 call: the envelope (appid, mch_id, sub-merchant, nonce, sign_type), the
// signature, the raw messages kept by the recorder, and the answer read back as WeChat
// means it — return_code first (was the request understood), then a signature check on
// every signed answer before a single field is believed.

export type WechatAnswer =
  | { readonly kind: 'refused'; readonly returnMsg: string; readonly fields: Fields }
  | { readonly kind: 'answered'; readonly fields: Fields };

export interface CallOptions {
  /** /secapi/*: present the merchant's client certificate. */
  clientCert?: boolean;
  /** queryexchagerate takes no nonce_str. */
  nonceless?: boolean;
  orderId?: string;
}

export function nonce(): string {
  return randomBytes(16).toString('hex');
}

export class WechatClient {
  constructor(
    readonly account: WechatAccount,
    private readonly ctx: Pick<ChannelContext, 'record' | 'log'>,
  ) {}

  envelope(fields: Fields, opts: { nonceless?: boolean } = {}): Fields {
    const c = this.account.config;
    const out: Fields = { appid: c.appid, mch_id: c.mch_id };
    if (c.sub_mch_id) out.sub_mch_id = c.sub_mch_id;
    if (c.sub_appid) out.sub_appid = c.sub_appid;
    if (!opts.nonceless) out.nonce_str = nonce();
    // MD5 is the default and the only type the nonceless rate query is documented with.
    if (!opts.nonceless || this.account.signType !== 'MD5') out.sign_type = this.account.signType;
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== '') out[k] = v;
    out.sign = sign(out, this.account.apiKey, this.account.signType);
    return out;
  }

  /** Sends a signed request and returns the raw body (downloadbill answers text, not XML). */
  async send(
    path: string,
    fields: Fields,
    opts: CallOptions & { maxBytes?: number } = {},
  ): Promise<{ status: number; body: Buffer; contentType: string }> {
    const xml = buildWechatXml(this.envelope(fields, opts));
    await this.ctx.record({ direction: 'request', endpoint: path, body: xml, orderId: opts.orderId });
    const res = await postToWechat(this.account, path, xml, {
      clientCert: Boolean(opts.clientCert),
      maxBytes: opts.maxBytes,
    });
    await this.ctx.record({
      direction: 'response',
      endpoint: path,
      body: res.body.toString('utf8'),
      httpStatus: res.status,
      orderId: opts.orderId,
    });
    if (res.status !== 200) {
      throw new KauriError('channel_error', `WeChat ${path} answered HTTP ${res.status}`);
    }
    return res;
  }

  async call(path: string, fields: Fields, opts: CallOptions = {}): Promise<WechatAnswer> {
    const res = await this.send(path, fields, opts);
    return this.read(path, res.body);
  }

  /** Reads a v2 answer: unsigned FAIL envelopes are refusals; everything else must verify. */
  read(path: string, body: Buffer): WechatAnswer {
    let f: Fields;
    try {
      f = parseWechatXml(body);
    } catch (err) {
      if (err instanceof WechatXmlError)
        throw new KauriError(
          'channel_error',
          `WeChat ${path} answered something that is not a WeChat message: ${err.message}`,
        );
      throw err;
    }
    if (f.return_code !== 'SUCCESS') {
      if (f.return_code !== 'FAIL')
        throw new KauriError('channel_error', `WeChat ${path} answered without a return_code`);
      return { kind: 'refused', returnMsg: f.return_msg ?? '(no return_msg)', fields: f };
    }
    const check = checkSignature(f, this.account.apiKey, this.account.signType);
    if (!check.ok) {
      this.ctx.log.warn({ path, reason: check.reason }, 'WeChat answer signature does not verify; not believed');
      throw new KauriError(
        'channel_error',
        `WeChat ${path} answer signature does not verify (${check.reason}); the answer is not trusted`,
      );
    }
    if (f.mch_id && f.mch_id !== this.account.config.mch_id) {
      throw new KauriError(
        'channel_error',
        `WeChat ${path} answered for mch_id ${f.mch_id}, not ${this.account.config.mch_id}`,
      );
    }
    return { kind: 'answered', fields: f };
  }
}
