import { describe, it, expect } from 'vitest';
import { Writable } from 'node:stream';
import { createLogger } from './logger.js';

describe('logger', () => {
  it('never writes secrets', () => {
    let out = '';
    const sink = new Writable({
      write(chunk, _enc, cb) {
        out += chunk.toString();
        cb();
      },
    });
    const log = createLogger({ level: 'info', destination: sink as never });
    log.info({ req: { headers: { authorization: 'Bearer kauri_sk.key_1.topsecret' } } }, 'request');
    log.info(
      {
        account: { apiKey: '192006250b4c09247ec02edce69f6a2d', password: 'hunter22', auth_code: '134567890123456789' },
      },
      'account',
    );
    expect(out).not.toContain('topsecret');
    expect(out).not.toContain('192006250b4c');
    expect(out).not.toContain('hunter22');
    expect(out).not.toContain('134567890123456789');
    expect(out).toContain('[redacted]');
  });
});
