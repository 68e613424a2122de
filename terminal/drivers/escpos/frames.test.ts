import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sampleSale, sampleSettlement } from '../../receipts/fixtures.js';
import { printerProfile, printerProfileNames } from '../../receipts/profiles.js';
import { saleReceipt } from '../../receipts/sale-receipt.js';
import { settlementReport } from '../../receipts/settlement-report.js';
import { chunkJob, commandBoundaries } from './frames.js';

describe('job chunking', () => {
  it.each(printerProfileNames())('never splits a command of the %s layouts', (name) => {
    const profile = printerProfile(name);
    for (const job of [saleReceipt(sampleSale, profile), settlementReport(sampleSettlement, profile)]) {
      const bounds = commandBoundaries(job);
      expect(bounds.at(-1)).toBe(job.length);
      const buf = Buffer.from(job);
      const qrStart = buf.indexOf(Buffer.from([0x31, 0x50, 0x30])) - 5; // GS ( k pL pH 31 50 30: store data
      const qrEnd = qrStart + 5 + buf[qrStart + 3]! + 256 * buf[qrStart + 4]!;
      for (const size of [16, 64, 256, 1024]) {
        const chunks = chunkJob(job, size);
        expect(Buffer.concat(chunks)).toEqual(Buffer.from(job));
        let offset = 0;
        for (const c of chunks) {
          offset += c.length;
          // No chunk ends inside a QR store command or between a double-byte lead and trail.
          if (qrStart >= 0) expect(offset <= qrStart || offset >= qrEnd).toBe(true);
          expect(bounds).toContain(offset);
        }
      }
    }
  });

  it('keeps any bytes intact and terminates', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 1, max: 300 }), (bytes, size) => {
        expect(Buffer.concat(chunkJob(bytes, size))).toEqual(Buffer.from(bytes));
      }),
    );
  });
});
