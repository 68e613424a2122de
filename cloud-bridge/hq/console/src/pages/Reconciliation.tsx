import type { Me } from '../api.js';
import { useI18n } from '../i18n.js';

// Reconciliation, settlement, payouts, counters and terminal pairing are the workspace the
// bridge has served since before the console: the same page, framed here (same origin only),
// so its tabs, forms and tests stay as they are. `#/reconciliation/payouts` opens that tab.

export function Reconciliation(_props: { me: Me; tab?: string }) {
  const { t } = useI18n();
  const tab = (_props.tab ?? '').replace(/[^a-z]/g, '');
  const src = `/hq/workspace${tab ? `#${tab}` : ''}`;
  return (
    <section className="page reconciliation">
      <div className="page-head">
        <div>
          <h1>{t('navReconciliation')}</h1>
          <span className="hint">{t('reconciliationHint')}</span>
        </div>
        <a href={src} target="_blank" rel="noopener" className="button quiet">
          {t('openWorkspace')}
        </a>
      </div>
      <iframe key={src} className="workspace" title={t('navReconciliation')} src={src} />
    </section>
  );
}
