// The simulator's clock. Two separate knobs, as docs/CONTRACTS.md describes:
// - `/sim/clock` shifts the simulator's notion of "now" (order times, statement days,
//   rate dates) by an offset from real time;
// - KAURI_TIME_SCALE=N makes protocol durations (notify retries, code expiries) N times
//   shorter, so a 24-hour retry schedule runs in seconds in a test.
// Simulators share no code with Kauri (lint rule), so this is their own copy.

export function timeScale(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.KAURI_TIME_SCALE;
  if (raw === undefined || raw === '') return 1;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw new Error(`KAURI_TIME_SCALE must be a positive number, got "${raw}"`);
  }
  return n;
}

/** A point in time seen both ways, so "has N ms of protocol time passed" can honour both knobs. */
export interface ClockMark {
  sim: number;
  real: number;
}

export class SimClock {
  private offset: number;
  readonly scale: number;

  constructor(opts: { offsetMs?: number; scale?: number; realNow?: () => number } = {}) {
    this.offset = opts.offsetMs ?? 0;
    this.scale = opts.scale ?? timeScale();
    this.realNow = opts.realNow ?? Date.now;
  }

  private readonly realNow: () => number;

  /** The simulator's "now": real time plus the offset set through /sim/clock. */
  now(): Date {
    return new Date(this.nowMs());
  }

  nowMs(): number {
    return this.realNow() + this.offset;
  }

  get offsetMs(): number {
    return this.offset;
  }

  /** Moves "now" to the given instant; time keeps running from there. */
  set(now: Date): void {
    if (Number.isNaN(now.getTime())) throw new Error('invalid date');
    this.offset = now.getTime() - this.realNow();
  }

  /** A protocol duration in real milliseconds, shortened by the time scale. */
  duration(ms: number): number {
    return Math.max(1, Math.round(ms / this.scale));
  }

  /** Resolves after a protocol duration (scaled). */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(t);
        reject(signal?.reason);
      };
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, this.duration(ms));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  mark(): ClockMark {
    return { sim: this.nowMs(), real: this.realNow() };
  }

  /**
   * Protocol time elapsed since a mark: real time sped up by the scale, plus any jump of
   * the simulator clock. A 60 s code expiry therefore passes after 60/N real seconds or
   * when a test moves the clock a minute ahead.
   */
  elapsedSince(mark: ClockMark): number {
    const scaledReal = (this.realNow() - mark.real) * this.scale;
    const jump = this.nowMs() - mark.sim - (this.realNow() - mark.real);
    return scaledReal + jump;
  }
}
