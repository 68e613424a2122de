import { describe, it, expect } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JsonState, makeStateDir, StateFileError } from './state.js';

describe('JsonState', () => {
  it('survives a reload and leaves no temp files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-state-'));
    const a = new JsonState(dir, 'sim.json', () => ({ orders: [] as string[], offset: 0 }));
    a.data.orders.push('o1');
    a.save();
    a.save();
    await Promise.resolve();
    const b = new JsonState(dir, 'sim.json', () => ({ orders: [] as string[], offset: 0, added: 'default' }));
    expect(b.data.orders).toEqual(['o1']);
    expect(b.data.added).toBe('default');
    expect(readdirSync(dir)).toEqual(['sim.json']);
  });

  it('writes a busy document at most once per interval, and everything at saveNow', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-state-'));
    const s = new JsonState(dir, 'sim.json', () => ({ n: 0 }), { minIntervalMs: 200 });
    const onDisk = () => JSON.parse(readFileSync(join(dir, 'sim.json'), 'utf8')).n;
    s.data.n = 1;
    s.saveNow();
    s.data.n = 2;
    s.save();
    s.data.n = 3;
    s.save();
    await new Promise((r) => setTimeout(r, 50));
    expect(onDisk()).toBe(1);
    await new Promise((r) => setTimeout(r, 250));
    expect(onDisk()).toBe(3);
    s.data.n = 4;
    s.save();
    s.saveNow();
    expect(onDisk()).toBe(4);
  });

  it('keeps memory-only state without a directory', () => {
    const s = new JsonState(undefined, 'x.json', () => ({ n: 1 }));
    s.data.n = 2;
    s.saveNow();
    expect(s.path).toBeUndefined();
  });

  it('refuses a corrupt state file with a clear error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kauri-state-'));
    writeFileSync(join(dir, 'sim.json'), '{"half":');
    expect(() => new JsonState(dir, 'sim.json', () => ({}))).toThrow(StateFileError);
    expect(readFileSync(join(dir, 'sim.json'), 'utf8')).toBe('{"half":');
  });

  it('refuses a state folder on /proc or /sys at once instead of hanging', () => {
    expect(() => new JsonState('/proc/kauri-sim/state', 'sim.json', () => ({}))).toThrow(StateFileError);
    expect(() => makeStateDir('/sys/kauri')).toThrow(/kernel's/);
    const dir = join(mkdtempSync(join(tmpdir(), 'kauri-state-')), 'a', 'b');
    makeStateDir(dir);
    expect(readdirSync(join(dir, '..'))).toEqual(['b']);
  });
});
