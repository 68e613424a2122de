import { useEffect, useRef, useState, type FormEvent } from 'react';
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from 'chart.js';
import { api, isHqRole, type Me, type ReportRow } from '../api.js';
import { useI18n } from '../i18n.js';
import { formatMinor, formatMoney } from '../money.js';
import { ErrorNote, Field, ListTable } from '../ui.js';

// Per day (or month), store and channel: count, gross, refunds and net in NZD with the CNY
// charged, as a table and a chart of net per period and channel.

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

const COLOURS: Record<string, string> = { wechat: '#2aae67', alipay: '#1677ff', bank: '#b8860b' };

const iso = (d: Date) => d.toISOString().slice(0, 10);

function NetChart({ rows }: { rows: ReportRow[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { t, channel } = useI18n();
  useEffect(() => {
    if (!canvas.current) return;
    const periods = [...new Set(rows.map((r) => r.period))].sort();
    const channels = [...new Set(rows.map((r) => r.channel))].sort();
    const currency = rows[0]?.net.currency ?? 'NZD';
    // Sums of integer minor units; only the axis labels are formatted.
    const sum = (p: string, c: string) =>
      rows.filter((r) => r.period === p && r.channel === c).reduce((a, r) => a + r.net.minor, 0);
    const chart = new Chart(canvas.current, {
      type: 'bar',
      data: {
        labels: periods,
        datasets: channels.map((c) => ({
          label: channel(c),
          data: periods.map((p) => sum(p, c)),
          backgroundColor: COLOURS[c] ?? '#888',
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: {
          x: { stacked: true },
          y: { stacked: true, ticks: { callback: (v) => formatMinor(Number(v), currency) } },
        },
        plugins: {
          tooltip: {
            callbacks: { label: (c) => `${c.dataset.label}: ${currency} ${formatMinor(Number(c.raw), currency)}` },
          },
        },
      },
    });
    return () => chart.destroy();
  }, [rows, channel]);
  return (
    <figure className="chart card">
      <figcaption>{t('chart')}</figcaption>
      <div className="chart-box">
        <canvas ref={canvas} data-testid="reports-chart" />
      </div>
    </figure>
  );
}

export function Reports({ me }: { me: Me }) {
  const { t, channel } = useI18n();
  const today = new Date();
  const [filter, setFilter] = useState({
    period: 'day',
    from: iso(new Date(today.getTime() - 13 * 86400e3)),
    to: iso(today),
    store: '',
    channel: '',
    merchant: '',
  });
  const [applied, setApplied] = useState(filter);
  const [rows, setRows] = useState<ReportRow[] | null>(null);
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    let live = true;
    setError(undefined);
    api.reports(applied).then(
      (r) => live && setRows(r),
      (e: unknown) => {
        if (!live) return;
        setRows(null);
        setError(e);
      },
    );
    return () => {
      live = false;
    };
  }, [applied]);

  const set = (k: keyof typeof filter, v: string) => setFilter((f) => ({ ...f, [k]: v }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setApplied(filter);
  };

  return (
    <section className="page reports">
      <div className="page-head">
        <h1>{t('navReports')}</h1>
      </div>
      <form className="filters card" onSubmit={submit}>
        <Field label={t('period')}>
          <select value={filter.period} onChange={(e) => set('period', e.target.value)}>
            <option value="day">{t('day')}</option>
            <option value="month">{t('month')}</option>
          </select>
        </Field>
        <Field label={t('from')}>
          <input type="date" value={filter.from} onChange={(e) => set('from', e.target.value)} />
        </Field>
        <Field label={t('to')}>
          <input type="date" value={filter.to} onChange={(e) => set('to', e.target.value)} />
        </Field>
        <Field label={t('store')}>
          <input value={filter.store} size={10} onChange={(e) => set('store', e.target.value)} />
        </Field>
        <Field label={t('channel')}>
          <select value={filter.channel} onChange={(e) => set('channel', e.target.value)}>
            <option value="">{t('any')}</option>
            {['wechat', 'alipay', 'bank'].map((c) => (
              <option key={c} value={c}>
                {channel(c)}
              </option>
            ))}
          </select>
        </Field>
        {isHqRole(me.role) && (
          <Field label={t('merchant')}>
            <input value={filter.merchant} size={12} onChange={(e) => set('merchant', e.target.value)} />
          </Field>
        )}
        <div className="filter-actions">
          <button type="submit">{t('show')}</button>
        </div>
      </form>
      <ErrorNote error={error} />
      {rows && rows.length > 0 && <NetChart rows={rows} />}
      {rows && (
        <ListTable
          testid="reports-table"
          rows={rows}
          rowKey={(r, i) => `${r.period}-${r.storeId}-${r.channel}-${i}`}
          empty={t('nothing')}
          columns={[
            { key: 'period', cell: (r) => r.period },
            { key: 'store', cell: (r) => r.storeName ?? '' },
            { key: 'channel', cell: (r) => channel(r.channel) },
            { key: 'count', num: true, cell: (r) => r.count },
            { key: 'gross', num: true, cell: (r) => formatMoney(r.gross) },
            { key: 'refunds', num: true, cell: (r) => formatMoney(r.refunds) },
            { key: 'net', num: true, cell: (r) => formatMoney(r.net) },
            { key: 'charged', num: true, cell: (r) => formatMoney(r.charged) },
          ]}
        />
      )}
    </section>
  );
}
