import { describe, it, expect } from 'vitest';
import { placeWindows } from './placement.js';

describe('window placement', () => {
  const primary = { id: 1, primary: true, bounds: { x: 0, y: 0, width: 1920, height: 1080 } };
  it('puts the customer fullscreen in kiosk mode on the largest other display', () => {
    const small = { id: 2, primary: false, bounds: { x: 1920, y: 0, width: 800, height: 480 } };
    const big = { id: 3, primary: false, bounds: { x: -1280, y: 0, width: 1280, height: 1024 } };
    const plan = placeWindows([small, primary, big]);
    expect(plan.cashier).toEqual({ bounds: primary.bounds, fullscreen: true, kiosk: false });
    expect(plan.customer).toEqual({ bounds: big.bounds, fullscreen: true, kiosk: true });
  });
  it('splits one display between the two windows, never kiosk', () => {
    const plan = placeWindows([primary]);
    expect(plan.cashier.bounds).toEqual({ x: 0, y: 0, width: 1152, height: 1080 });
    expect(plan.customer.bounds).toEqual({ x: 1152, y: 0, width: 768, height: 1080 });
    expect(plan.customer.kiosk).toBe(false);
  });
  it('refuses to place windows without a display', () => {
    expect(() => placeWindows([])).toThrow(/no display/);
  });
});
