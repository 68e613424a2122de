import { createServer, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { systemClock } from '../../protocol/clock.js';
import { freePort } from '../../test/support/processes.js';
import { LinkClient } from './link-client.js';

// The link's reconnect: after a few failed attempts the backoff waits seconds; the
// cashier's "try now" skips the wait and connects at once, and only once.

describe('LinkClient.reconnectNow', () => {
  let link: LinkClient | undefined;
  let server: Server | undefined;
  afterEach(async () => {
    link?.stop();
    await new Promise((r) => (server ? server.close(r) : r(undefined)));
  });

  it('skips the backoff wait with one attempt, not two', async () => {
    const port = await freePort();
    let attempts = 0;
    link = new LinkClient({
      url: `ws://127.0.0.1:${port}/terminal`,
      terminalId: 't',
      secret: 's',
      lastSeq: () => 0,
      clock: systemClock(1),
      log: pino({ level: 'silent' }),
      handlers: {
        welcome: () => undefined,
        event: () => undefined,
        result: () => undefined,
        online: () => undefined,
        fatal: () => undefined,
      },
    });
    link.start();
    // Nothing listens yet: let the backoff grow past a few seconds (attempts 0–3: ≤0.5+1+2 s … then up to 8 s).
    await new Promise((r) => setTimeout(r, 2500));

    // The bridge is back; each upgrade request is one connection attempt (refused, to stay offline).
    server = createServer((_req, res) => res.writeHead(404).end());
    server.on('upgrade', (_req, socket) => {
      attempts++;
      socket.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n');
    });
    await new Promise<void>((r) => server!.listen(port, '127.0.0.1', r));

    link.reconnectNow();
    link.reconnectNow(); // a double tap is one attempt
    await new Promise((r) => setTimeout(r, 300));
    expect(attempts).toBe(1);
    expect(link.online).toBe(false);
  });
});
