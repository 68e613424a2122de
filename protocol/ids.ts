import { monotonicFactory } from 'ulid';
import { randomBytes } from 'node:crypto';

// ULIDs: sortable by creation time, unique across processes, safe in URLs.
const next = monotonicFactory();

export function newId(prefix?: string): string {
  const id = next();
  return prefix ? `${prefix}_${id}` : id;
}

/** An unguessable token (base64url) with at least `bits` bits of randomness. */
export function randomToken(bits = 128): string {
  return randomBytes(Math.ceil(bits / 8)).toString('base64url');
}
