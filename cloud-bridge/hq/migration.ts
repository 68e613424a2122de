import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../store/db.js';

// HQ login throttle, one row per (client address, user name): how many attempts in the
// current run and until when (epoch ms) the next one must wait. In the database so that every
// bridge instance counts together and parallel attempts are counted atomically.
export const m0010_hq_login_throttle = (d: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('hq_login_throttle')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('blocked_until_ms', d === 'postgres' ? 'bigint' : 'integer', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
});
