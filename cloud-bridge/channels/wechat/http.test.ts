import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeWechatAgents, postToWechat } from './http.js';
import type { WechatAccount } from './config.js';
import { wechatConfigSchema } from './config.js';

// The transport against a real socket that misbehaves: too much, too slow, or nothing.

let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/big') {
      const big = `<xml><a>${'x'.repeat(300 * 1024)}</a></xml>`;
      res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(big) });
      res.end(big);
    } else if (req.url === '/streamed') {
      res.writeHead(200, { 'content-type': 'text/xml' });
      const chunk = 'y'.repeat(64 * 1024);
      let n = 0;
      const more = () => {
        if (n++ < 8) res.write(chunk, () => setImmediate(more));
        else res.end();
      };
      more();
    } else if (req.url === '/slow') {
      setTimeout(() => res.end('<xml></xml>'), 2_000);
    } else {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => res.end(`<xml><echo><![CDATA[${body.length}]]></echo></xml>`));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  await closeWechatAgents();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

function account(timeoutMs = 500): WechatAccount {
  const config = wechatConfigSchema.parse({ apiBaseUrl: base, appid: 'wx1', mch_id: '1', timeoutMs });
  return { id: 'cha_t', config, apiKey: 'k', signType: 'MD5' };
}

describe('WeChat transport', () => {
  it('posts the body and returns the answer', async () => {
    const res = await postToWechat(account(), '/pay/x', '<xml/>', { clientCert: false });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('<xml><echo><![CDATA[6]]></echo></xml>');
  });

  it('refuses an answer larger than the cap, declared or streamed', async () => {
    await expect(postToWechat(account(), '/big', '', { clientCert: false })).rejects.toMatchObject({
      code: 'channel_error',
      message: expect.stringMatching(/at most 262144 are read/),
    });
    await expect(postToWechat(account(), '/streamed', '', { clientCert: false })).rejects.toMatchObject({
      code: 'channel_error',
      message: expect.stringMatching(/more than 262144 bytes/),
    });
  });

  it("gives up after the account's timeout", async () => {
    const t = Date.now();
    await expect(postToWechat(account(300), '/slow', '', { clientCert: false })).rejects.toMatchObject({
      code: 'channel_timeout',
    });
    expect(Date.now() - t).toBeLessThan(1_500);
  });

  it('says when WeChat cannot be reached', async () => {
    const a = account();
    const closed = { ...a, config: { ...a.config, apiBaseUrl: 'http://127.0.0.1:9' } };
    await expect(postToWechat(closed, '/pay/x', '', { clientCert: false })).rejects.toMatchObject({
      code: 'channel_error',
      message: expect.stringMatching(/could not be reached: ECONNREFUSED/),
    });
  });
});
