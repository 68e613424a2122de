import { describe, expect, it } from 'vitest';
import { csvCell, csvDocument, csvUnneutralise } from './csv.js';

describe('CSV cells', () => {
  it('neutralises text a spreadsheet would run: = + - @ tab and carriage return', () => {
    expect(csvCell('=HYPERLINK("http://evil.example","x")')).toBe('"\'=HYPERLINK(""http://evil.example"",""x"")"');
    expect(csvCell('+1+2')).toBe('"\'+1+2"');
    expect(csvCell('-2+3')).toBe('"\'-2+3"');
    expect(csvCell('@SUM(A1)')).toBe('"\'@SUM(A1)"');
    expect(csvCell('\tcmd')).toBe('"\'\tcmd"');
    expect(csvCell('\rcmd')).toBe('"\'\rcmd"');
  });

  it('quotes what RFC 4180 needs, and leaves numbers (even negative), plain text and empties alone', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('line\nbreak')).toBe('"line\nbreak"');
    expect(csvCell(-1250)).toBe('-1250');
    expect(csvCell(true)).toBe('true');
    expect(csvCell('K123')).toBe('K123');
    expect(csvCell(null)).toBe('');
    expect(csvDocument(['a', 'b'], [['=1', 2]])).toBe('a,b\n"\'=1",2\n');
  });

  it('gives back what it neutralised, and nothing else', () => {
    expect(csvUnneutralise("'-K1")).toBe('-K1');
    expect(csvUnneutralise("'K1")).toBe("'K1");
    expect(csvUnneutralise("'")).toBe("'");
  });
});
