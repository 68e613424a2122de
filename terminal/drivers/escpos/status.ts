import type { DeviceErrorCode } from '../errors.js';

// DLE EOT (real-time status) and ASB (automatic status back), per the Epson command
// tables (docs/protocols/escpos-printer.md). A real-time reply is one byte of pattern 0xx1xx10; an ASB
// frame is four bytes, the first 0xx1xx00 and the rest 0xx0xxxx; XON/XOFF are 11/13.

export const DLE_EOT = (n: 1 | 2 | 3 | 4) => new Uint8Array([0x10, 0x04, n]);
/** DLE ENQ 2: recover from an error and clear the receive and print buffers. */
export const DLE_ENQ_CLEAR = new Uint8Array([0x10, 0x05, 0x02]);

export function isRealtimeStatus(b: number): boolean {
  return (b & 0x93) === 0x12;
}

export interface PrinterStatus {
  /** n=1 bit 3. */
  offline: boolean;
  /** n=2 bit 2. */
  coverOpen: boolean;
  /** n=2 bit 5 (printing stopped) or n=4 bits 5+6. */
  paperEnd: boolean;
  /** n=4 bits 2+3. */
  paperNearEnd: boolean;
  /** n=2 bit 6, or n=3 autocutter / unrecoverable / auto-recoverable. */
  error: boolean;
  autocutterError: boolean;
  unrecoverableError: boolean;
  /** The raw replies to n = 1..4. */
  raw: [number, number, number, number];
}

export function interpretStatus(raw: [number, number, number, number]): PrinterStatus {
  const [printer, offline, error, paper] = raw;
  return {
    offline: (printer & 0x08) !== 0,
    coverOpen: (offline & 0x04) !== 0,
    paperEnd: (offline & 0x20) !== 0 || (paper & 0x60) === 0x60,
    paperNearEnd: (paper & 0x0c) === 0x0c,
    error: (offline & 0x40) !== 0 || (error & 0x68) !== 0,
    autocutterError: (error & 0x08) !== 0,
    unrecoverableError: (error & 0x20) !== 0,
    raw,
  };
}

/** What stops printing, most specific first; undefined when the printer can print. */
export function statusProblem(s: PrinterStatus): DeviceErrorCode | undefined {
  if (s.coverOpen) return 'printer_cover_open';
  if (s.paperEnd) return 'printer_paper_out';
  if (s.error) return 'printer_error';
  if (s.offline) return 'printer_offline';
  return undefined;
}

export type StatusEvent =
  | { type: 'realtime'; byte: number }
  | { type: 'asb'; bytes: [number, number, number, number] }
  | { type: 'xon' }
  | { type: 'xoff' }
  | { type: 'other'; byte: number };

/**
 * Splits what a printer sends back into replies. Bounded state (at most three bytes
 * of a pending ASB frame), so any byte stream is consumed in linear time.
 */
export class StatusReplyParser {
  private asb: number[] = [];

  feed(chunk: Uint8Array): StatusEvent[] {
    const out: StatusEvent[] = [];
    for (const b of chunk) {
      if (this.asb.length > 0) {
        if ((b & 0x90) === 0) {
          this.asb.push(b);
          if (this.asb.length === 4) {
            out.push({ type: 'asb', bytes: this.asb as [number, number, number, number] });
            this.asb = [];
          }
          continue;
        }
        // Not an ASB continuation: the pending bytes were something else.
        for (const p of this.asb) out.push({ type: 'other', byte: p });
        this.asb = [];
      }
      if (isRealtimeStatus(b)) out.push({ type: 'realtime', byte: b });
      else if ((b & 0x93) === 0x10) this.asb.push(b);
      else if (b === 0x11) out.push({ type: 'xon' });
      else if (b === 0x13) out.push({ type: 'xoff' });
      else out.push({ type: 'other', byte: b });
    }
    return out;
  }
}
