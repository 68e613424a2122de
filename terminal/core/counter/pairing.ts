import { KauriError } from '../../../protocol/errors.js';
import { PairResponse } from '../../../protocol/link.js';
import { TerminalDb } from '../db.js';

/** Exchanges a one-time pairing code for this counter's credential (kept in its SQLite only). */
export async function pairTerminal(
  dataDir: string,
  bridgeWs: string,
  code: string,
  name?: string,
): Promise<PairResponse> {
  const url = new URL(bridgeWs);
  url.protocol = url.protocol === 'wss:' ? 'https:' : 'http:';
  url.pathname = url.pathname.replace(/\/terminal\/?$/, '') + '/terminal/pair';
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, name }),
    });
  } catch (err) {
    throw new KauriError('channel_unavailable', `Cannot reach the bridge at ${url.origin}: ${(err as Error).message}`);
  }
  const body = (await res.json().catch(() => ({}))) as { error?: { code: string; message: string } };
  if (!res.ok)
    throw new KauriError(
      res.status === 400 ? 'pairing_code_invalid' : 'unauthenticated',
      body.error?.message ?? `Pairing refused (HTTP ${res.status})`,
    );
  const paired = PairResponse.parse(body);
  const db = new TerminalDb(dataDir);
  try {
    db.tx(() => {
      db.setSetting('terminal_id', paired.terminalId);
      db.setSetting('terminal_secret', paired.secret);
      db.setSetting('terminal_name', paired.name);
      db.setSetting('bridge_ws', bridgeWs);
    });
  } finally {
    db.close();
  }
  // The secret never leaves this machine: TerminalDb keeps the database this user's only.
  return paired;
}
