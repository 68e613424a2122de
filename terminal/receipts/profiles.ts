import { z } from 'zod';
import { DeviceError } from '../drivers/errors.js';
import tmT88 from './profiles/tm-t88-80mm.json' with { type: 'json' };
import generic58 from './profiles/generic-58mm-cn.json' with { type: 'json' };
import basic58 from './profiles/basic-58mm-raster.json' with { type: 'json' };
import vfd from './profiles/vfd-2x20.json' with { type: 'json' };

// Printers and displays are described as data (columns, code page, CJK font, QR
// support, cutter), so a new model is a JSON file, not code.

const printerProfileSchema = z.object({
  name: z.string().regex(/^[a-z0-9-]+$/),
  description: z.string(),
  /** ReceiptPrinterEncoder's printerModel: its code-page map and capabilities. */
  encoderModel: z.string(),
  paperWidthMm: z.number().int().positive(),
  dotsPerLine: z.number().int().positive(),
  /** Characters per line in font A; must match the printer (the encoder pads with spaces). */
  columns: z.number().int().min(16).max(64),
  codepage: z.string(),
  /** Double-byte font the printer holds; "none" prints CJK as "?". */
  cjk: z.enum(['gb18030', 'none']),
  qr: z.object({
    native: z.boolean(),
    model: z.union([z.literal(1), z.literal(2)]),
    moduleSize: z.number().int().min(1).max(16),
    errorLevel: z.enum(['l', 'm', 'q', 'h']),
  }),
  cut: z.object({ type: z.enum(['full', 'partial']), feedLines: z.number().int().min(0).max(10) }),
  drawer: z.boolean(),
});

export type PrinterProfile = z.infer<typeof printerProfileSchema>;

const displayProfileSchema = z.object({
  name: z.string(),
  description: z.string(),
  columns: z.number().int().positive(),
  rows: z.number().int().positive(),
  commandSet: z.enum(['epson', 'cd5220']),
  brightness: z.number().int().min(1).max(4),
});

export type DisplayProfile = z.infer<typeof displayProfileSchema>;

export const DEFAULT_PRINTER_PROFILE = 'tm-t88-80mm';

const printerProfiles: ReadonlyMap<string, PrinterProfile> = new Map(
  [tmT88, generic58, basic58].map((p) => {
    const parsed = printerProfileSchema.parse(p);
    return [parsed.name, parsed] as const;
  }),
);

export const displayProfile: DisplayProfile = displayProfileSchema.parse(vfd);

export function printerProfileNames(): string[] {
  return [...printerProfiles.keys()];
}

export function printerProfile(name: string = DEFAULT_PRINTER_PROFILE): PrinterProfile {
  const p = printerProfiles.get(name);
  if (!p) throw new DeviceError('printer_profile_unknown', `"${name}" (known: ${printerProfileNames().join(', ')})`);
  return p;
}
