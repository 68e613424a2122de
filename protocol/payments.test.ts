import { describe, it, expect } from 'vitest';
import { channelOfPaymentCode } from './payments.js';

describe('payment codes', () => {
  it('recognises the channel by prefix and length', () => {
    expect(channelOfPaymentCode('134567890123456789')).toBe('wechat');
    expect(channelOfPaymentCode('104567890123456789')).toBe('wechat');
    expect(channelOfPaymentCode('284567890123456789')).toBe('alipay');
    expect(channelOfPaymentCode('2845678901234567')).toBe('alipay');
  });
  it('refuses garbage', () => {
    for (const bad of [
      '',
      'abc',
      '164567890123456789',
      '13456789012345678',
      '13456789012345678x',
      '3145678901234567',
      '2'.repeat(25),
    ]) {
      expect(channelOfPaymentCode(bad), bad).toBeUndefined();
    }
  });
});
