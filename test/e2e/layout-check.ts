import type { Page } from 'playwright-core';

// What "fits the window" means for the counter's screens, checked in the page itself:
// the page does not scroll; no element's content spills out of its box (only the boxes
// named as scrolling may hold more than they show); no line of text is drawn over another
// or cut off by its scrolling box; and every message to the cashier (alerts, notices) is
// fully in view.

export interface LayoutOptions {
  /** CSS selectors of boxes that may scroll what they hold (a long list in its panel). */
  scrolls: string[];
  /** CSS selectors of what must be fully in view (errors, notices). */
  inView: string[];
}

export async function layoutProblems(page: Page, o: LayoutOptions): Promise<string[]> {
  // Sent as source: a transpiler that keeps function names (tsx) wraps them in a helper
  // the page does not have, so the page gets a stand-in for it.
  return page.evaluate(`var __name = (f) => f; (${check.toString()})(${JSON.stringify(o)})`) as Promise<string[]>;
}

function check(o: LayoutOptions): string[] {
  {
    const problems: string[] = [];
    const de = document.documentElement;
    if (de.scrollHeight > innerHeight + 1 || de.scrollWidth > innerWidth + 1)
      problems.push(`the page scrolls: ${de.scrollWidth}×${de.scrollHeight} in a ${innerWidth}×${innerHeight} window`);
    const name = (el: Element) => {
      const id = (el as HTMLElement).dataset?.testid;
      const cls =
        typeof el.className === 'string' && el.className ? `.${el.className.trim().split(/\s+/).join('.')}` : '';
      return `${el.tagName.toLowerCase()}${id ? `[${id}]` : ''}${cls}`;
    };
    const mayScroll = (el: Element) => o.scrolls.some((s) => el.matches(s));
    const scrollBox = (el: Element) => {
      const cs = getComputedStyle(el);
      return /(auto|scroll|hidden|clip)/.test(cs.overflowX + cs.overflowY);
    };
    for (const el of document.body.querySelectorAll('*')) {
      const cs = getComputedStyle(el);
      if (cs.display === 'none' || cs.display === 'contents' || cs.display === 'inline') continue;
      if (el.tagName === 'IMG' || el.tagName === 'INPUT' || el.tagName === 'svg') continue;
      if (mayScroll(el)) continue;
      if (el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1)
        problems.push(
          `${name(el)} holds more than it shows: ${el.scrollWidth}×${el.scrollHeight} in ${el.clientWidth}×${el.clientHeight}`,
        );
    }
    // Every line of text, as drawn, and the part of it its scrolling boxes let through.
    type Line = { text: string; owner: Element; r: DOMRect; visible: DOMRect | null };
    const lines: Line[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = n.textContent?.trim();
      const owner = n.parentElement;
      if (!text || !owner || getComputedStyle(owner).visibility === 'hidden') continue;
      const range = document.createRange();
      range.selectNodeContents(n);
      for (const r of range.getClientRects()) {
        if (r.width < 1 || r.height < 1) continue;
        let visible: DOMRect | null = new DOMRect(0, 0, innerWidth, innerHeight);
        let clippedBy: Element | null = null;
        for (let a: Element | null = owner; a && a !== document.body; a = a.parentElement) {
          if (!scrollBox(a)) continue;
          const b = a.getBoundingClientRect();
          const x = Math.max(visible!.x, b.x + a.clientLeft);
          const y = Math.max(visible!.y, b.y + a.clientTop);
          const right = Math.min(visible!.right, b.x + a.clientLeft + a.clientWidth);
          const bottom = Math.min(visible!.bottom, b.y + a.clientTop + a.clientHeight);
          const cut = r.x < x - 1 || r.y < y - 1 || r.right > right + 1 || r.bottom > bottom + 1;
          if (cut && !clippedBy) clippedBy = a;
          visible = right > x && bottom > y ? new DOMRect(x, y, right - x, bottom - y) : null;
          if (!visible) break;
        }
        const shown = visible
          ? new DOMRect(
              Math.max(r.x, visible.x),
              Math.max(r.y, visible.y),
              Math.min(r.right, visible.right) - Math.max(r.x, visible.x),
              Math.min(r.bottom, visible.bottom) - Math.max(r.y, visible.y),
            )
          : null;
        const seen = shown && shown.width > 0 && shown.height > 0 ? shown : null;
        // Cut by a box that scrolls on purpose is scrolled away, not clipped; cut by any other is lost.
        if (clippedBy && !mayScroll(clippedBy) && seen)
          problems.push(`"${text.slice(0, 40)}" in ${name(owner)} is cut off by ${name(clippedBy)}`);
        lines.push({ text, owner, r, visible: seen });
      }
    }
    const shown = lines.filter((l) => l.visible);
    for (let i = 0; i < shown.length; i++)
      for (let j = i + 1; j < shown.length; j++) {
        const a = shown[i]!.visible!;
        const b = shown[j]!.visible!;
        const w = Math.min(a.right, b.right) - Math.max(a.x, b.x);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.y, b.y);
        if (w > 2 && h > 2)
          problems.push(
            `"${shown[i]!.text.slice(0, 30)}" (${name(shown[i]!.owner)}) and "${shown[j]!.text.slice(0, 30)}" (${name(shown[j]!.owner)}) are drawn over each other`,
          );
      }
    for (const sel of o.inView)
      for (const el of document.querySelectorAll(sel)) {
        const r = el.getBoundingClientRect();
        const hidden = lines.filter((l) => el.contains(l.owner) && (!l.visible || l.visible.height < l.r.height - 1));
        if (r.bottom > innerHeight + 1 || r.right > innerWidth + 1 || hidden.length)
          problems.push(`${name(el)} is not fully in view`);
      }
    return problems;
  }
}
