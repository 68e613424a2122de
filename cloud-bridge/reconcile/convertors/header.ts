import { isUtf8 } from 'node:buffer';
import { RowProblem } from '../errors.js';

/**
 * The first line of a statement, decoded strictly: statements are UTF-8 (a BOM is
 * allowed and dropped); anything else is the wrong file or the wrong encoding and the
 * whole file is refused rather than guessed at.
 */
export function decodeHeaderLine(
  head: Uint8Array,
  sep: string,
  what: string,
): { fields: string[]; next: number; text: string } {
  if (head.length === 0) throw new RowProblem('truncated_file', `empty file (expected a ${what})`);
  if (
    (head[0] === 0xff && head[1] === 0xfe) ||
    (head[0] === 0xfe && head[1] === 0xff) ||
    head.subarray(0, 200).includes(0)
  ) {
    throw new RowProblem('wrong_encoding', `UTF-16 text; a ${what} must be UTF-8`);
  }
  let start = 0;
  if (head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) start = 3;
  const nl = head.indexOf(10, start);
  if (nl < 0) throw new RowProblem('truncated_file', `no complete header line (expected a ${what})`);
  let end = nl;
  if (end > start && head[end - 1] === 13) end--;
  const bytes = head.subarray(start, end);
  if (!isUtf8(bytes)) {
    throw new RowProblem(
      'wrong_encoding',
      `the header is not UTF-8 (GBK or another encoding?); a ${what} must be UTF-8`,
    );
  }
  const text = new TextDecoder('utf-8').decode(bytes);
  return { fields: text.split(sep).map((s) => s.trim()), next: nl + 1, text };
}

export function checkUtf8Line(buf: Uint8Array, start: number, end: number): void {
  if (!isUtf8(buf.subarray(start, end)))
    throw new RowProblem('wrong_encoding', 'the row is not UTF-8 (wrong encoding?)');
}
