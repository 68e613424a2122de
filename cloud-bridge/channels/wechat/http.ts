import { createHash } from 'node:crypto';
import { Agent, request } from 'undici';
import { KauriError } from '../../../protocol/errors.js';
import type { WechatAccount } from './config.js';

// HTTPS to WeChat: one keep-alive pool per account and certificate (so the client
// certificate is presented only on /secapi/* calls), a deadline per call, and a cap on
// what is read back. A transport failure is thrown; the caller cannot know whether
// WeChat acted, so the payment service treats it as unknown and asks again.

export const MAX_RESPONSE_BYTES = 256 * 1024;

const agents = new Map<string, Agent>();

function agentFor(account: WechatAccount, withCert: boolean): Agent {
  const cert = withCert ? account.clientCert : undefined;
  const key = createHash('sha256')
    .update(account.config.caPem ?? '')
    .update('\0')
    .update(cert ? ('pfx' in cert ? cert.pfx.toString('base64') + cert.passphrase : cert.cert + cert.key) : '')
    .digest('hex');
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({
      keepAliveTimeout: 10_000,
      connections: 64,
      connect: {
        // A configured CA replaces the system store: the simulator's CA pins it; production leaves it unset.
        ...(account.config.caPem ? { ca: account.config.caPem } : {}),
        ...(cert
          ? 'pfx' in cert
            ? { pfx: cert.pfx, passphrase: cert.passphrase }
            : { cert: cert.cert, key: cert.key }
          : {}),
      },
    });
    agents.set(key, agent);
  }
  return agent;
}

/** Closes every pooled connection (tests, shutdown). */
export async function closeWechatAgents(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.allSettled(all.map((a) => a.close()));
}

export interface WechatHttpResponse {
  status: number;
  contentType: string;
  body: Buffer;
}

export async function postToWechat(
  account: WechatAccount,
  path: string,
  body: string,
  opts: { clientCert: boolean; timeoutMs?: number; maxBytes?: number },
): Promise<WechatHttpResponse> {
  const url = new URL(
    path.replace(/^\//, ''),
    account.config.apiBaseUrl.endsWith('/') ? account.config.apiBaseUrl : `${account.config.apiBaseUrl}/`,
  );
  const timeoutMs = opts.timeoutMs ?? account.config.timeoutMs;
  const maxBytes = opts.maxBytes ?? MAX_RESPONSE_BYTES;
  let res;
  try {
    res = await request(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/xml; charset=utf-8', 'user-agent': 'kauri-bridge/1 (WeChat Pay v2)' },
      dispatcher: agentFor(account, opts.clientCert),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw transportError(path, err, timeoutMs);
  }
  const declared = Number(res.headers['content-length'] ?? '0');
  if (declared > maxBytes) {
    res.body.destroy();
    throw new KauriError('channel_error', `WeChat ${path} answered ${declared} bytes; at most ${maxBytes} are read`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        res.body.destroy();
        throw new KauriError(
          'channel_error',
          `WeChat ${path} answered more than ${maxBytes} bytes; the rest was not read`,
        );
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof KauriError) throw err;
    throw transportError(path, err, timeoutMs);
  }
  const ct = res.headers['content-type'];
  return {
    status: res.statusCode,
    contentType: Array.isArray(ct) ? (ct[0] ?? '') : (ct ?? ''),
    body: Buffer.concat(chunks),
  };
}

function transportError(path: string, err: unknown, timeoutMs: number): KauriError {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code ?? e.name ?? 'error';
  const timedOut = e.name === 'TimeoutError' || e.name === 'AbortError' || /TIMEOUT/i.test(code);
  if (timedOut)
    return new KauriError('channel_timeout', `WeChat ${path} did not answer within ${timeoutMs} ms`, { cause: err });
  return new KauriError(
    'channel_error',
    `WeChat ${path} could not be reached: ${code} ${e.cause?.message ?? e.message ?? ''}`.trim(),
    { cause: err },
  );
}
