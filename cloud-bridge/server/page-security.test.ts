import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { pageCsp } from './page-security.js';

const hashOf = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

describe('page CSP', () => {
  it('allows exactly the inline scripts and styles the page was sent with, nothing inline otherwise', () => {
    const script = "document.getElementById('payease').submit();";
    const style = 'body{font-family:sans-serif}';
    const csp = pageCsp(
      `<html><head><style>${style}</style></head><body><form id="payease"></form><script>${script}</script><script src="/a.js"></script></body></html>`,
    );
    expect(csp).toContain(`script-src 'self' ${hashOf(script)};`);
    expect(csp).toContain(`style-src 'self' ${hashOf(style)};`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|unsafe-hashes/);
    // A page with no inline code allows none.
    expect(pageCsp('<p>hi</p>')).toContain("script-src 'self'; style-src 'self';");
  });

  it("an inline event handler (Alipay's auto-submitting form) is allowed by its hash only", () => {
    const csp = pageCsp(
      '<body onload="document.forms[0].submit()"><form method="post" action="https://gw.example/x?a=1&amp;b=2"></form></body>',
    );
    expect(csp).toContain(`script-src 'self' 'unsafe-hashes' ${hashOf('document.forms[0].submit()')};`);
  });
});
