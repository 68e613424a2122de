import { Secret, TOTP } from 'otpauth';
import QRCode from 'qrcode';
import type { Kysely } from 'kysely';
import type { Store } from '../store/db.js';
import type { Database } from '../store/schema.js';
import type { SecretBox } from '../store/secret-box.js';
import type { Clock } from '../../protocol/clock.js';
import { KauriError } from '../../protocol/errors.js';

// Two-factor codes (RFC 6238: HMAC-SHA1, 6 digits, 30 s steps, the settings every authenticator
// app reads from an otpauth:// URL). The secret is sealed by the SecretBox like channel secrets.
// One step either side is accepted for clock drift; the last accepted step is kept on the user
// and only a later one is taken next, in one conditional UPDATE, so a code seen over a shoulder
// or replayed (even in parallel) is refused while it is still valid.

const PERIOD = 30;
const DIGITS = 6;
const ALGORITHM = 'SHA1';
const ISSUER = 'Kauri';

export class TotpService {
  constructor(private readonly deps: { store: Store; box: SecretBox; clock: Clock }) {}

  private get db() {
    return this.deps.store.db;
  }

  async enabled(userId: string, db: Kysely<Database> = this.db): Promise<boolean> {
    const row = await db.selectFrom('users').select('totp_enabled').where('id', '=', userId).executeTakeFirst();
    return row?.totp_enabled === 1;
  }

  /** A new secret for the user (not yet in force): the URL and its QR code for the authenticator app. */
  async setup(userId: string, username: string): Promise<{ otpauthUrl: string; qrSvg: string }> {
    if (await this.enabled(userId))
      throw new KauriError('conflict', 'two-factor sign-in is already on: turn it off first to set up a new one');
    const secret = new Secret({ size: 20 });
    await this.db
      .updateTable('users')
      .set({ totp_secret: this.deps.box.seal(secret.base32), totp_last_step: null })
      .where('id', '=', userId)
      .execute();
    const otpauthUrl = new TOTP({
      issuer: ISSUER,
      label: username,
      algorithm: ALGORITHM,
      digits: DIGITS,
      period: PERIOD,
      secret,
    }).toString();
    const qrSvg = await QRCode.toString(otpauthUrl, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 });
    return { otpauthUrl, qrSvg };
  }

  /** Turns TOTP on once the user shows a code from the secret of their last setup. */
  async enable(userId: string, code: string, trx?: Kysely<Database>): Promise<void> {
    if (await this.enabled(userId, trx)) throw new KauriError('conflict', 'two-factor sign-in is already on');
    if (!(await this.check(userId, code, false, trx))) throw new KauriError('totp_invalid');
    await (trx ?? this.db).updateTable('users').set({ totp_enabled: 1 }).where('id', '=', userId).execute();
  }

  /** Turns TOTP off, on a current code. */
  async disable(userId: string, code: string, trx?: Kysely<Database>): Promise<void> {
    if (!(await this.enabled(userId, trx))) throw new KauriError('conflict', 'two-factor sign-in is not on');
    if (!(await this.check(userId, code, true, trx))) throw new KauriError('totp_invalid');
    await (trx ?? this.db)
      .updateTable('users')
      .set({ totp_enabled: 0, totp_secret: null })
      .where('id', '=', userId)
      .execute();
  }

  /** Whether the code is valid now for the user's TOTP in force, and not used before. */
  verify(userId: string, code: string): Promise<boolean> {
    return this.check(userId, code, true);
  }

  private async check(userId: string, code: unknown, mustBeOn: boolean, trx?: Kysely<Database>): Promise<boolean> {
    if (typeof code !== 'string' || !/^\d{6}$/.test(code)) return false;
    const db = trx ?? this.db;
    const row = await db
      .selectFrom('users')
      .select(['totp_secret', 'totp_enabled'])
      .where('id', '=', userId)
      .executeTakeFirst();
    if (!row?.totp_secret || (mustBeOn && row.totp_enabled !== 1)) return false;
    const secret = Secret.fromBase32(this.deps.box.open(row.totp_secret));
    const timestamp = this.deps.clock.now().getTime();
    const delta = TOTP.validate({
      token: code,
      secret,
      algorithm: ALGORITHM,
      digits: DIGITS,
      period: PERIOD,
      timestamp,
      window: 1,
    });
    if (delta === null) return false;
    const step = TOTP.counter({ period: PERIOD, timestamp }) + delta;
    const taken = await db
      .updateTable('users')
      .set({ totp_last_step: step })
      .where('id', '=', userId)
      .where((eb) => eb.or([eb('totp_last_step', 'is', null), eb('totp_last_step', '<', step)]))
      .executeTakeFirst();
    return Number(taken.numUpdatedRows) === 1;
  }
}

/** The code an authenticator app shows for this otpauth:// URL at this time (for tests and the CLI). */
export function totpCodeOf(otpauthUrl: string, timestamp: number): string {
  const secret = new URL(otpauthUrl).searchParams.get('secret');
  if (!secret) throw new Error('no secret in the URL');
  return TOTP.generate({
    secret: Secret.fromBase32(secret),
    algorithm: ALGORITHM,
    digits: DIGITS,
    period: PERIOD,
    timestamp,
  });
}
