// Where the two windows go: the cashier's on the primary display; the customer's
// fullscreen (kiosk) on another display when there is one, else beside the cashier's
// on the same screen so a developer sees both.

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}
export interface DisplayInfo {
  id: number;
  bounds: Rect;
  primary: boolean;
}
export interface WindowPlan {
  bounds: Rect;
  fullscreen: boolean;
  kiosk: boolean;
}

export function placeWindows(displays: readonly DisplayInfo[]): { cashier: WindowPlan; customer: WindowPlan } {
  if (displays.length === 0) throw new Error('no display');
  const primary = displays.find((d) => d.primary) ?? displays[0]!;
  // The customer faces the largest other screen (a pole-mounted monitor is usually it).
  const others = displays
    .filter((d) => d.id !== primary.id)
    .sort((a, b) => b.bounds.width * b.bounds.height - a.bounds.width * a.bounds.height);
  if (others.length) {
    return {
      cashier: { bounds: primary.bounds, fullscreen: true, kiosk: false },
      customer: { bounds: others[0]!.bounds, fullscreen: true, kiosk: true },
    };
  }
  const b = primary.bounds;
  const cashierWidth = Math.round(b.width * 0.6);
  return {
    cashier: { bounds: { x: b.x, y: b.y, width: cashierWidth, height: b.height }, fullscreen: false, kiosk: false },
    customer: {
      bounds: { x: b.x + cashierWidth, y: b.y, width: b.width - cashierWidth, height: b.height },
      fullscreen: false,
      kiosk: false,
    },
  };
}
