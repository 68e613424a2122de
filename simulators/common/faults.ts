// Scripted misbehaviour: `POST /sim/faults {"target","mode","count"}` makes the next
// `count` calls to a target misbehave. A target is a request path ("/pay/micropay"),
// a service name (Alipay's `service=`) or "notify" (the next notifications).

export type FaultMode =
  | { kind: 'timeout' }
  | { kind: 'http500' }
  | { kind: 'duplicate-notify' }
  | { kind: 'late-notify'; seconds: number }
  | { kind: 'bad-signature' }
  | { kind: 'drop-notify' }
  | { kind: 'unknown' }
  /** An asynchronous refund the channel accepts now and reports failed later (Alipay forex_refund). */
  | { kind: 'refund-fail' };

export type FaultKind = FaultMode['kind'];

export interface FaultRule {
  target: string;
  mode: string; // as given, e.g. "late-notify:30"
  remaining: number;
}

export class FaultInputError extends Error {
  readonly code = 'invalid_fault';
}

export function parseFaultMode(mode: string): FaultMode {
  switch (mode) {
    case 'timeout':
    case 'http500':
    case 'duplicate-notify':
    case 'bad-signature':
    case 'drop-notify':
    case 'unknown':
    case 'refund-fail':
      return { kind: mode };
  }
  const late = /^late-notify:(\d+(?:\.\d+)?)$/.exec(mode);
  if (late) return { kind: 'late-notify', seconds: Number(late[1]) };
  throw new FaultInputError(
    `unknown fault mode "${mode}" (timeout, http500, duplicate-notify, late-notify:SECONDS, bad-signature, drop-notify, unknown, refund-fail)`,
  );
}

/** Validates a `/sim/faults` body; throws FaultInputError with a clear message. */
export function parseFaultRequest(body: unknown): FaultRule {
  if (typeof body !== 'object' || body === null)
    throw new FaultInputError('expected a JSON object {"target","mode","count"}');
  const b = body as Record<string, unknown>;
  if (typeof b.target !== 'string' || b.target === '') throw new FaultInputError('"target" must be a non-empty string');
  if (typeof b.mode !== 'string') throw new FaultInputError('"mode" must be a string');
  const kind = parseFaultMode(b.mode).kind;
  // A rule that nothing would ever consume is a mistake worth saying so.
  const notifyOnly: FaultKind[] = ['duplicate-notify', 'late-notify', 'drop-notify'];
  const callOnly: FaultKind[] = ['timeout', 'http500', 'unknown', 'refund-fail'];
  if (b.target === 'notify' && callOnly.includes(kind)) {
    throw new FaultInputError(
      `mode "${b.mode}" applies to calls; for "notify" use duplicate-notify, late-notify:SECONDS, drop-notify or bad-signature`,
    );
  }
  if (b.target !== 'notify' && notifyOnly.includes(kind)) {
    throw new FaultInputError(`mode "${b.mode}" applies to notifications: use "target": "notify"`);
  }
  const count = b.count === undefined ? 1 : b.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1) {
    throw new FaultInputError('"count" must be a positive integer');
  }
  return { target: b.target, mode: b.mode, remaining: count };
}

export class FaultRegistry {
  private rules: FaultRule[];

  constructor(
    initial: FaultRule[] = [],
    private readonly onChange: () => void = () => {},
  ) {
    this.rules = initial.map((r) => ({ ...r }));
  }

  add(rule: FaultRule): void {
    parseFaultMode(rule.mode);
    this.rules.push({ ...rule });
    this.onChange();
  }

  clear(): void {
    this.rules = [];
    this.onChange();
  }

  list(): FaultRule[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /**
   * Consumes one use of the oldest rule for `target` whose mode is one of `kinds`
   * (all kinds when omitted). Rules of other kinds for the same target stay queued,
   * so a "notify" rule is never eaten by a request hook and vice versa.
   */
  take(target: string, kinds?: readonly FaultKind[]): FaultMode | undefined {
    const i = this.rules.findIndex(
      (r) => r.target === target && (!kinds || kinds.includes(parseFaultMode(r.mode).kind)),
    );
    if (i < 0) return undefined;
    const rule = this.rules[i]!;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.rules.splice(i, 1);
    this.onChange();
    return parseFaultMode(rule.mode);
  }
}
