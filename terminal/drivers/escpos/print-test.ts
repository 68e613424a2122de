import { testPage } from '../../receipts/test-page.js';
import { DEFAULT_PRINTER_PROFILE, printerProfile } from '../../receipts/profiles.js';
import { describeSpec, parseDeviceSpec } from '../device-spec.js';
import { DeviceError } from '../errors.js';
import { openTransport, type TransportOptions } from '../transport.js';
import { EscPosPrinter } from './printer.js';

// `kauri print-test --printer SPEC` (registered in terminal/commands.ts): one test page,
// status read before and after.

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
