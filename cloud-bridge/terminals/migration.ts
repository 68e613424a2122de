import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../store/dialect.js';

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

// The latest device health each counter reported (printer, customer display, scanner), so
// HQ and `kauri admin terminal list` can see a shop's paper-out printer from anywhere.
// last_seen_at (from 0001) says when the counter was last heard of.
export const m0007_terminal_health = (_d: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    // One column per statement: SQLite's ALTER TABLE adds one at a time.
    await db.schema.alterTable('terminals').addColumn('device_health', 'text').execute();
    await db.schema.alterTable('terminals').addColumn('health_at', 'text').execute();
  },
});

// Wrong manager PINs counted per store in the database, not in a bridge's memory per
// terminal: neither a restart nor a second counter or bridge resets the allowance.
export const m0012_manager_pin_attempts = (_d: Dialect): Migration => ({
  async up(db: Kysely<any>) {
    await db.schema
      .createTable('manager_pin_attempts')
      .addColumn('store_id', 'text', (c) => c.primaryKey().references('stores.id'))
      .addColumn('attempts', 'integer', (c) => c.notNull())
      .addColumn('window_until', 'text', (c) => c.notNull())
      .execute();
  },
});
