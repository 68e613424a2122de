import { createHash } from 'node:crypto';
import pg from 'pg';

// PostgreSQL parses, analyses and plans every statement it is sent unnamed. For a
// transition's one statement (up to five data-modifying WITH clauses, 50-odd parameters)
// that was about 40% of the server's CPU per payment (measured with pgbench on this
// project's statements: 1.5-1.8 ms of server CPU per payment sent unnamed, 0.9 ms prepared).
// Statements marked with PREPARED_MARK are sent as named prepared statements instead: parsed
// once per connection, then only bound and executed.
//
// Only statements whose result has a fixed type may be marked. A prepared statement whose
// result columns change under it (a migration adding a column to a `select *` while this
// bridge runs) fails with "cached plan must not change result type"; a transition's statement
// answers one constant or one boolean, whatever the tables hold, and PostgreSQL re-plans it by
// itself when a table it touches changes.

/** Put first in a statement's text to have it prepared once per connection. */
export const PREPARED_MARK = '/* kauri:prepared */ ';

// A bound on distinct prepared texts: the marked statements come in a handful of shapes (which
// writes a transition has); a bug that put values into the text must not grow every
// connection's statement cache without end. Past the bound, marked statements go unnamed.
const MAX_NAMES = 256;
const names = new Map<string, string>();

/** The statement name for a marked text, or undefined when it is not to be prepared. */
export function preparedName(text: string): string | undefined {
  if (!text.startsWith(PREPARED_MARK)) return undefined;
  let name = names.get(text);
  if (name === undefined) {
    if (names.size >= MAX_NAMES) return undefined;
    // The text's hash: the same text gets the same name on every connection, and two texts
    // never share one (pg refuses a name reused for another text).
    name = `kauri_${createHash('sha256').update(text).digest('hex').slice(0, 32)}`;
    names.set(text, name);
  }
  return name;
}

/**
 * The pool's client class (pg.Pool's documented `Client` option). Kysely sends every query as
 * `query(text, values)`; a marked one goes out as `{ name, text, values }`.
 */
export class PreparingClient extends pg.Client {
  // pg's overloads do not survive an override; this one keeps every call shape they allow.
  override query(...args: unknown[]): never {
    const [text, values] = args;
    const name = typeof text === 'string' && args.length === 2 ? preparedName(text) : undefined;
    const query = super.query as (...a: unknown[]) => never;
    if (name !== undefined) return query.call(this, { name, text, values });
    return query.apply(this, args);
  }
}
