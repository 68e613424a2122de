import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { app, BrowserWindow, ipcMain, screen } from 'electron';
import { isKauriError } from '../../protocol/errors.js';
import { runTerminal, type TerminalRunOptions } from '../core/run.js';
import { runAction } from '../core/ui-server.js';
import { counterDevices } from '../core/devices.js';
import { placeWindows } from './placement.js';
import { checkIpcAction, IPC_ACTION, IPC_STATE } from './ipc.js';

// The Electron shell: the counter core runs here, in the main process; two windows show
// the screens it serves on loopback, and talk to it through the preload's two calls.

const here = dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const options = JSON.parse(process.env.KAURI_TERMINAL_OPTIONS ?? '{}') as TerminalRunOptions;
  await app.whenReady();
  const t = await runTerminal({ ...options, headless: true, uiPort: 0 }, counterDevices);
  const plan = placeWindows(
    screen
      .getAllDisplays()
      .map((d) => ({ id: d.id, bounds: d.bounds, primary: d.id === screen.getPrimaryDisplay().id })),
  );
  const webPreferences = {
    preload: join(here, 'preload.cjs'),
    contextIsolation: true,
    nodeIntegration: false,
    sandbox: true,
  };
  const open = (path: string, p: typeof plan.cashier) => {
    const w = new BrowserWindow({
      ...p.bounds,
      fullscreen: p.fullscreen,
      kiosk: p.kiosk,
      autoHideMenuBar: true,
      webPreferences,
    });
    void w.loadURL(`${t.url}${path}`);
    return w;
  };
  open('/cashier', plan.cashier);
  open('/customer', plan.customer);

  ipcMain.handle(IPC_ACTION, async (_e, name: unknown, body: unknown) => {
    const check = checkIpcAction(name, body);
    if (!check.ok) return { ok: false, error: check.error };
    try {
      return { ok: true, data: await runAction(t.counter, check.action, check.body) };
    } catch (err) {
      if (isKauriError(err)) return { ok: false, error: { code: err.code, message: err.message, zh: err.zh } };
      return { ok: false, error: { code: 'internal', message: (err as Error).message } };
    }
  });
  ipcMain.on('kauri:subscribe', (e) => {
    const push = () =>
      void t.counter.snapshot().then((s) => {
        if (!e.sender.isDestroyed()) e.sender.send(IPC_STATE, s);
      });
    t.counter.on('change', push);
    const tick = setInterval(push, 1000);
    e.sender.once('destroyed', () => {
      t.counter.off('change', push);
      clearInterval(tick);
    });
    push();
  });
  app.on('window-all-closed', () => void t.close().then(() => app.quit()));
}

main().catch((err) => {
  process.stderr.write(`kauri terminal: ${(err as Error).message}\n`);
  app.exit(1);
});
