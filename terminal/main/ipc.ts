import { UiActions, type UiAction } from '../core/ui-server.js';

// The one IPC channel the renderer may use, checked in the main process: a window can
// only ask for the counter's actions, with arguments of the right shape.

export const IPC_ACTION = 'kauri:action';
export const IPC_STATE = 'kauri:state';

export type IpcCheck =
  { ok: true; action: UiAction; body: unknown } | { ok: false; error: { code: 'invalid_request'; message: string } };

export function checkIpcAction(name: unknown, body: unknown): IpcCheck {
  if (typeof name !== 'string' || !Object.prototype.hasOwnProperty.call(UiActions, name)) {
    return { ok: false, error: { code: 'invalid_request', message: `unknown action ${JSON.stringify(name)}` } };
  }
  const parsed = UiActions[name as UiAction].safeParse(body ?? {});
  if (!parsed.success)
    return {
      ok: false,
      error: { code: 'invalid_request', message: parsed.error.issues.map((i) => i.message).join('; ') },
    };
  return { ok: true, action: name as UiAction, body: parsed.data };
}
