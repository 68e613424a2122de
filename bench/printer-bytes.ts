// Bytes a receipt costs on the wire: the typical sale receipt and the Z-report with
// the printer's own QR command (GS ( k), against the same receipt with the QR sent as
// a raster image (GS v 0), and the time each takes at 9,600 and 115,200 baud
// (bytes × 10 / baud: 8N1 framing; pseudo-terminals ignore the baud rate, so this is
// computed, not measured). Also the time to lay a receipt out.
//
//   node --import tsx bench/printer-bytes.ts        (writes its section of BENCHMARKS.md)

import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { BENCHMARKS_FILE, writeSection } from './section.js';
import { sampleRefund, sampleSale, sampleSettlement } from '../terminal/receipts/fixtures.js';
import { printerProfile, type PrinterProfile } from '../terminal/receipts/profiles.js';
import { refundReceipt, saleReceipt } from '../terminal/receipts/sale-receipt.js';
import { settlementReport } from '../terminal/receipts/settlement-report.js';
import { testPage } from '../terminal/receipts/test-page.js';

const rasterOf = (p: PrinterProfile): PrinterProfile => ({
  ...p,
  name: `${p.name}+raster-qr`,
  qr: { ...p.qr, native: false },
});

interface Row {
  what: string;
  profile: string;
  bytes: number;
  encodeMs: number;
}

function measure(what: string, profile: PrinterProfile, make: () => Uint8Array): Row {
  const bytes = make().length;
  const runs = 200;
  for (let i = 0; i < 20; i++) make();
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) make();
  return { what, profile: profile.name, bytes, encodeMs: (performance.now() - t0) / runs };
}

const wire = (bytes: number, baud: number) => (bytes * 10) / baud;
const fmtS = (s: number) => (s >= 1 ? `${s.toFixed(2)} s` : `${(s * 1000).toFixed(0)} ms`);

const rows: Row[] = [];
for (const name of ['tm-t88-80mm', 'generic-58mm-cn']) {
  const p = printerProfile(name);
  rows.push(measure('sale receipt (native QR)', p, () => saleReceipt(sampleSale, p)));
  rows.push(measure('sale receipt (raster QR)', rasterOf(p), () => saleReceipt(sampleSale, rasterOf(p))));
  rows.push(measure('refund receipt (native QR)', p, () => refundReceipt(sampleRefund, p)));
  rows.push(measure('Z-report (settlement)', p, () => settlementReport(sampleSettlement, p)));
  rows.push(measure('test page (print-test)', p, () => testPage(p)));
}

const header =
  '| what | profile | bytes | at 9,600 baud | at 115,200 baud | layout time |\n|---|---|---:|---:|---:|---:|';
const table = rows
  .map(
    (r) =>
      `| ${r.what} | ${r.profile} | ${r.bytes.toLocaleString('en-US')} | ${fmtS(wire(r.bytes, 9600))} | ${fmtS(wire(r.bytes, 115200))} | ${r.encodeMs.toFixed(2)} ms |`,
  )
  .join('\n');

const native = rows[0]!;
const raster = rows[1]!;
const date = new Date().toISOString().slice(0, 10);
const machine = `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}, node ${process.version}`;

const section = `<!-- printer-bytes:start -->
## Printer bytes (receipts on the wire)

Run: \`node --import tsx bench/printer-bytes.ts\` · ${date} · ${machine}

Time on the wire is computed as bytes × 10 / baud (8N1), since ptys ignore the baud
rate. Layout time is the mean over 200 runs of the pure layout function (record →
bytes), including the encoder.

${header}
${table}

The raster QR makes the 80 mm sale receipt ${(raster.bytes / native.bytes).toFixed(1)}× larger
(${native.bytes.toLocaleString('en-US')} → ${raster.bytes.toLocaleString('en-US')} bytes): at 9,600 baud that is
${fmtS(wire(native.bytes, 9600))} against ${fmtS(wire(raster.bytes, 9600))} before the slip is out, which is why the
profiles use the printer's own \`GS ( k\` and keep raster for printers without it.
<!-- printer-bytes:end -->`;

process.stdout.write(`${header}\n${table}\n`);

writeSection('printer-bytes', section);
process.stdout.write(`wrote the "Printer bytes" section of ${BENCHMARKS_FILE}\n`);
