// One clock for every protocol timer (poll intervals, retry delays, expiries).
// KAURI_TIME_SCALE=N makes those durations N times shorter, so a test can run a
// 24-hour retry schedule in seconds; timestamps stay real time.

export function timeScale(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.KAURI_TIME_SCALE;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`KAURI_TIME_SCALE must be a positive number, got "${raw}"`);
  }
  return n;
}

export interface Clock {
  /** Real wall-clock time. */
  now(): Date;
  /** A protocol duration, shortened by the time scale. */
  duration(ms: number): number;
  /** Resolves after a protocol duration (scaled). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export function systemClock(scale = timeScale()): Clock {
  return {
    now: () => new Date(),
    duration: (ms) => Math.max(1, Math.round(ms / scale)),
    sleep: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal?.aborted) return reject(signal.reason);
        const t = setTimeout(
          () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          Math.max(1, Math.round(ms / scale)),
        );
        const onAbort = () => {
          clearTimeout(t);
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
      }),
  };
}
