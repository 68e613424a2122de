import type { Command } from 'commander';
import { testPage } from '../../receipts/test-page.js';
import { DEFAULT_PRINTER_PROFILE, printerProfile } from '../../receipts/profiles.js';
import { describeSpec, parseDeviceSpec } from '../device-spec.js';
import { DeviceError } from '../errors.js';
import { openTransport, type TransportOptions } from '../transport.js';
import { EscPosPrinter } from './printer.js';

// `kauri print-test --printer SPEC`: one test page, status read before and after.

export interface PrintTestResult {
  spec: string;
  profile: string;
  bytes: number;
}

export async function printTestPage(
  specText: string,
  opts: TransportOptions & { statusTimeoutMs?: number } = {},
): Promise<PrintTestResult> {
  const spec = parseDeviceSpec(specText);
  if (spec.kind === 'none') throw new DeviceError('device_spec_invalid', 'print-test needs a printer, not "none"');
  const profile = printerProfile(spec.options.profile ?? DEFAULT_PRINTER_PROFILE);
  const page = testPage(profile, new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC');
  const printer = new EscPosPrinter({ transport: openTransport(spec, opts), statusTimeoutMs: opts.statusTimeoutMs });
  try {
    await printer.print(page);
  } finally {
    await printer.stop().catch(() => undefined);
  }
  return { spec: describeSpec(spec), profile: profile.name, bytes: page.length };
}

export function registerPrintTestCommand(program: Command): void {
  program
    .command('print-test')
    .description(
      'print a test page (text, Chinese, a native QR code, a cut) and wait for the printer to report it printed',
    )
    .requiredOption(
      '--printer <spec>',
      'serial:/dev/ttyX?baud=9600 | usb:VID:PID | usb:/dev/usb/lp0 | tcp:HOST:PORT, optionally &profile=NAME',
    )
    .action(async (o: { printer: string }) => {
      try {
        const r = await printTestPage(o.printer);
        process.stdout.write(`printed: test page (${r.bytes} bytes, profile ${r.profile}) on ${r.spec}\n`);
      } catch (err) {
        if (err instanceof DeviceError) throw new Error(`${err.code}: ${err.message}`);
        throw err;
      }
    });
}
