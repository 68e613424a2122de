import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../store/db.js';

// Per-merchant permission to send webhooks to private, loopback and link-local addresses
// (and over plain http). Kept in the database, not a flag of one bridge process, so every
// instance sharing the database delivers (or refuses) alike. Off for every existing merchant.
export const m0009_merchant_private_webhooks = (_d: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema
      .alterTable('merchants')
      .addColumn('allow_private_webhooks', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
});
