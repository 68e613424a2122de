import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../store/db.js';

// Terminal link state: the (terminal, idempotency key) record of every command a counter
// sent, so a command resent after a lost ack is answered from the record, not done twice;
// and each store's manager PIN (scrypt: PINs are short, so the hash must be slow).
export const m0004_terminals = (_d: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('terminal_commands')
      .addColumn('terminal_id', 'text', (c) => c.notNull())
      .addColumn('idem_key', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('result', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('terminal_commands_pk', ['terminal_id', 'idem_key'])
      .execute();
    await db.schema
      .createTable('manager_pins')
      .addColumn('store_id', 'text', (c) => c.primaryKey().references('stores.id'))
      .addColumn('pin_hash', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .execute();
  },
});
