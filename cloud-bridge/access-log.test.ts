import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ChannelRegistry } from './channels/channel.js';
import { createLogger } from './logger.js';
import { startTestBridge } from '../test/support/bridges.js';

// Each request leaves one access line when it is answered (not one on arrival as well), with
// what an operator looks for, and never the credentials it carried.

describe('access log', () => {
  it('writes one line per request, with method, url, status and time, and no credentials', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        for (const l of chunk.toString().split('\n'))
          if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    });
    const { bridge, cleanup } = await startTestBridge({
      kind: 'sqlite',
      secretKey: 'access-log-secret-key-0123456789abcdef',
      timeScale: 1,
      bridge: {
        log: createLogger({ level: 'info', destination: sink as never }),
        channels: new ChannelRegistry(),
        fx: { pullAtStart: false },
        runJobs: false,
      },
    });
    try {
      lines.length = 0;
      const res = await fetch(`${bridge.url}/api/v1/payments?limit=1`, {
        headers: { authorization: 'Bearer kauri_sk.key_nope.topsecret-credential' },
      });
      expect(res.status).toBe(401);
      await fetch(`${bridge.url}/no/such/route`);
      // Back from WeChat's OAuth on the one-code page: the one-time code stays out of the log.
      await fetch(`${bridge.url}/c/AAAAAAAAAAAAAAAAAAAAAA/wechat?code=051OAUTHsecretCODE&state=xyzSTATE&lang=zh`);
      await new Promise((r) => setTimeout(r, 50)); // the logger writes asynchronously
      const access = lines.filter((l) => l.msg === 'request');
      expect(access).toHaveLength(3);
      expect(access[2]).toMatchObject({
        url: '/c/AAAAAAAAAAAAAAAAAAAAAA/wechat?code=[redacted]&state=[redacted]&lang=zh',
      });
      expect(JSON.stringify(lines)).not.toMatch(/051OAUTHsecretCODE|xyzSTATE/);
      expect(access[0]).toMatchObject({ method: 'GET', url: '/api/v1/payments?limit=1', status: 401 });
      expect(typeof access[0]!.ms).toBe('number');
      expect(access[1]).toMatchObject({ method: 'GET', url: '/no/such/route', status: 404 });
      expect(lines.some((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toBe(false);
      expect(JSON.stringify(lines)).not.toContain('topsecret-credential');
    } finally {
      await bridge.close();
      await cleanup();
    }
  });
});
