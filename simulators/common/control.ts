import type { FastifyReply } from 'fastify';
import { controlError } from './server.js';

// Shared by the simulators' /sim/ control routes (docs/CONTRACTS.md "Simulator control").

/** A /sim/ control call that cannot be done: answered as `{ error: { code, message } }` with `status`. */
export class ControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** An optional string field of a control body: absent (or null) is undefined, anything but a non-empty string is refused. */
export function optionalString(body: Record<string, unknown>, name: string): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || v === '')
    throw new ControlError(400, 'invalid_request', `"${name}" must be a non-empty string`);
  return v;
}

/** Answers a ControlError; anything else is rethrown (a 500 from the server). */
export function sendControlError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof ControlError) return controlError(reply, err.status, err.code, err.message);
  throw err;
}
