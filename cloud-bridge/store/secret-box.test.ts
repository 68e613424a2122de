import { describe, it, expect } from 'vitest';
import { SecretBox, hashPassword, unmatchableHash, verifyPassword } from './secret-box.js';

describe('secret box', () => {
  it('seals and opens, never storing the clear text', () => {
    const box = new SecretBox('a-long-enough-secret-key');
    const sealed = box.seal('{"api_key":"192006250b4c09247ec02edce69f6a2d"}');
    expect(sealed).not.toContain('192006250b4c');
    expect(box.open(sealed)).toContain('192006250b4c');
    expect(box.seal('x')).not.toBe(box.seal('x'));
  });
  it('refuses another key and tampering', () => {
    const sealed = new SecretBox('a-long-enough-secret-key').seal('secret');
    expect(() => new SecretBox('another-long-secret-key').open(sealed)).toThrow(/KAURI_SECRET_KEY/);
    const parts = sealed.split('.');
    parts[2] = Buffer.from('tampered').toString('base64url');
    expect(() => new SecretBox('a-long-enough-secret-key').open(parts.join('.'))).toThrow();
    expect(() => new SecretBox('short')).toThrow(/at least 16/);
  });
  it('hashes passwords with a salt', () => {
    const h = hashPassword('correct horse');
    expect(verifyPassword('correct horse', h)).toBe(true);
    expect(verifyPassword('wrong', h)).toBe(false);
    expect(hashPassword('correct horse')).not.toBe(h);
    expect(verifyPassword('', unmatchableHash())).toBe(false);
    expect(unmatchableHash()).toMatch(/^scrypt\$[\w-]{22}\$[\w-]{43}$/);
  });
});
