import { Agent, request } from 'undici';
import { KauriError } from '../../../protocol/errors.js';
import type { ChannelAccount } from '../channel.js';
import { wechatAccount } from './config.js';

// The silent OAuth (snsapi_base) a JSAPI page needs for the payer's openid
// (docs/protocols/wechat.md): send the browser to authorize, then trade the code.

export function oauthAuthorizeUrl(account: ChannelAccount, redirectUri: string, state: string): string {
  const a = wechatAccount(account);
  const u = new URL('/connect/oauth2/authorize', a.config.oauthBaseUrl);
  u.searchParams.set('appid', a.config.sub_appid ?? a.config.appid);
  u.searchParams.set('redirect_uri', redirectUri);
  u.searchParams.set('response_type', 'code');
  u.searchParams.set('scope', 'snsapi_base');
  u.searchParams.set('state', state);
  return `${u.toString()}#wechat_redirect`;
}

export async function openidForCode(account: ChannelAccount, code: string): Promise<string> {
  const a = wechatAccount(account);
  if (!a.appSecret)
    throw new KauriError(
      'config_invalid',
      `WeChat Pay account ${account.id} has no appSecret, needed for JSAPI's openid`,
    );
  const u = new URL('/sns/oauth2/access_token', a.config.snsApiBaseUrl ?? 'https://api.weixin.qq.com');
  u.searchParams.set('appid', a.config.sub_appid ?? a.config.appid);
  u.searchParams.set('secret', a.appSecret);
  u.searchParams.set('code', code);
  u.searchParams.set('grant_type', 'authorization_code');
  const dispatcher = a.config.caPem ? new Agent({ connect: { ca: a.config.caPem } }) : undefined;
  try {
    const res = await request(u, {
      method: 'GET',
      ...(dispatcher ? { dispatcher } : {}),
      headersTimeout: a.config.timeoutMs,
      bodyTimeout: a.config.timeoutMs,
    });
    const text = await res.body.text();
    if (text.length > 64 * 1024) throw new KauriError('channel_error', 'the OAuth answer is too large');
    let body: { openid?: string; errcode?: number; errmsg?: string };
    try {
      body = JSON.parse(text);
    } catch {
      throw new KauriError('channel_error', `the OAuth answer is not JSON (HTTP ${res.statusCode})`);
    }
    if (!body.openid)
      throw new KauriError(
        'channel_rejected',
        `WeChat OAuth refused the code: ${body.errcode ?? '?'} ${body.errmsg ?? ''}`.trim(),
      );
    return body.openid;
  } finally {
    await dispatcher?.close();
  }
}
