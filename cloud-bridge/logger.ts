import pino, { type Logger } from 'pino';

// Structured logs; secrets never reach them. Paths cover request headers and the few
// places credentials travel in objects we might log.
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.apiKey',
  '*.api_key',
  '*.password',
  '*.secret',
  '*.secrets',
  '*.privateKey',
  '*.private_key',
  '*.key',
  '*.auth_code',
  '*.authCode',
  '*.appSecret',
  '*.passphrase',
  'secrets',
  'password',
  'apiKey',
];

export function createLogger(
  options: { level?: string; name?: string; destination?: pino.DestinationStream } = {},
): Logger {
  return pino(
    {
      name: options.name ?? 'kauri-bridge',
      level: options.level ?? process.env.KAURI_LOG_LEVEL ?? 'info',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    // Written asynchronously (pino flushes what is pending when the process exits): a
    // synchronous write per line cost about a tenth of a busy bridge's CPU in the
    // payments benchmark (BENCHMARKS.md). A kill -9 may lose the last lines; the database,
    // not the log, is the record.
    options.destination ?? pino.destination({ fd: 2, sync: false }),
  );
}
