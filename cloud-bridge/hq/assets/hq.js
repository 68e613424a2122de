// The HQ page: plain DOM, no framework. Every value from the server is put in with
// textContent, never as HTML. Changes are JSON POSTs with the session's CSRF token.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  // Framed by the console (same origin only), which has its own bar, language and log-out.
  if (window.top !== window.self) document.documentElement.classList.add('embedded');
  const CHANNELS = ['wechat', 'alipay', 'bank'];
  let me = null;
  let chart = null;
  let current = null; // { channel, day }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children)
      if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function money(minor, currency) {
    if (minor === null || minor === undefined) return '';
    const exp = ['JPY', 'KRW'].includes(currency) ? 0 : 2;
    const neg = minor < 0;
    const s = String(Math.abs(minor)).padStart(exp + 1, '0');
    const v = exp ? `${s.slice(0, -exp)}.${s.slice(-exp)}` : s;
    return `${neg ? '-' : ''}${v} ${currency || ''}`.trim();
  }

  async function api(method, path, body) {
    const headers = {};
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && me) headers['x-csrf-token'] = me.csrf;
    const res = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
    const data = await res.json().catch(() => ({}));
    if (res.status === 401 && path !== '/hq/api/login') {
      showLogin();
      throw new Error('Your session ended: log in again.');
    }
    if (!res.ok) throw new Error((data.error && data.error.message) || `HTTP ${res.status}`);
    return data;
  }

  function say(msg) {
    $('notice').textContent = msg || '';
    $('error').textContent = '';
  }
  function fail(err) {
    $('error').textContent = err instanceof Error ? err.message : String(err);
    $('notice').textContent = '';
  }

  function showLogin() {
    me = null;
    $('login').hidden = false;
    $('tabs').hidden = true;
    $('who').hidden = true;
    for (const s of document.querySelectorAll('.tab')) s.hidden = true;
  }

  function chinaToday() {
    return new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10);
  }
  function addDays(day, n) {
    return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86400e3).toISOString().slice(0, 10);
  }

  function showTab(name) {
    for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== name;
    for (const b of document.querySelectorAll('#tabs button')) b.classList.toggle('active', b.dataset.tab === name);
    $('error').textContent = '';
    $('notice').textContent = '';
    if (name === 'overview') loadOverview().catch(fail);
    if (name === 'files') loadFiles().catch(fail);
    if (name === 'settlement') loadSettlement().catch(fail);
    if (name === 'terminals') loadStores().catch(fail);
    if (name === 'counters') loadCounters().catch(fail);
    if (name === 'payouts') loadPayouts().catch(fail);
  }

  async function start() {
    try {
      me = await api('GET', '/hq/api/me');
    } catch {
      showLogin();
      return;
    }
    signedIn();
  }

  function signedIn() {
    $('login').hidden = true;
    $('tabs').hidden = false;
    $('who').hidden = false;
    $('who-name').textContent = `${me.username} (${me.role})`;
    for (const b of document.querySelectorAll('.hq-only')) b.hidden = !me.hq;
    for (const b of document.querySelectorAll('.po-account-edit')) b.hidden = !(me.hq || me.role === 'merchant_admin');
    $('po-account-submit').textContent = me.hq ? 'Save account' : 'Propose account (HQ approves)';
    // HQ finance reads and changes nothing: pairing a counter is for admins and store managers.
    const pairs = ['hq_admin', 'merchant_admin', 'store_manager'].includes(me.role);
    for (const b of document.querySelectorAll('.pair-only')) b.hidden = !pairs;
    const to = chinaToday();
    $('ov-to').value = addDays(to, -1);
    $('ov-from').value = addDays(to, -14);
    $('st-to').value = addDays(to, -1);
    $('st-from').value = addDays(to, -14);
    // The console opens a tab by name (/hq/workspace#payouts); one this user lacks opens the default.
    const asked = document.querySelector(`#tabs button[data-tab="${location.hash.slice(1).replace(/[^a-z]/g, '')}"]`);
    showTab(asked && !asked.hidden ? asked.dataset.tab : me.hq ? 'overview' : 'settlement');
  }

  $('login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    $('login-error').textContent = '';
    try {
      me = await api('POST', '/hq/api/login', { username: f.username.value, password: f.password.value });
      f.password.value = '';
      signedIn();
    } catch (err) {
      $('login-error').textContent = err.message;
    }
  });
  $('logout').addEventListener('click', async () => {
    await api('POST', '/hq/api/logout', {}).catch(() => undefined);
    showLogin();
  });
  for (const b of document.querySelectorAll('#tabs button')) b.addEventListener('click', () => showTab(b.dataset.tab));

  function cellClass(c) {
    if (!c) return 'st-none';
    if (c.state === 'reconciled' && c.open === 0) return 'st-clean';
    return `st-${c.state}`;
  }

  async function loadOverview() {
    const data = await api(
      'GET',
      `/hq/api/overview?from=${encodeURIComponent($('ov-from').value)}&to=${encodeURIComponent($('ov-to').value)}`,
    );
    const byKey = new Map(data.cells.map((c) => [`${c.day}|${c.channel}`, c]));
    const days = [];
    for (let d = data.to; d >= data.from; d = addDays(d, -1)) days.push(d);
    const thead = $('grid').tHead;
    thead.replaceChildren(el('tr', {}, el('th', {}, 'Day (UTC+8)'), ...CHANNELS.map((c) => el('th', {}, c))));
    const tbody = $('grid').tBodies[0];
    tbody.replaceChildren(
      ...days.map((day) =>
        el(
          'tr',
          {},
          el('td', {}, day),
          ...CHANNELS.map((ch) => {
            const c = byKey.get(`${day}|${ch}`);
            const label = !c
              ? '—'
              : c.state === 'none'
                ? c.download || '—'
                : c.state === 'waiting'
                  ? `waiting for the statement${c.download === 'failed' ? ' (download failed)' : ''}`
                  : c.state === 'reconciled' && c.download === 'empty' && c.differences === 0
                    ? 'no transactions'
                    : `${c.state.replace('_', ' ')} · ${c.statementRows} rows · ${c.matched} matched · ${c.open} open / ${c.differences} differences`;
            return el(
              'td',
              {},
              el(
                'a',
                {
                  class: `cell ${cellClass(c)}`,
                  href: `#day/${ch}/${day}`,
                  'data-day': day,
                  'data-channel': ch,
                  onclick: (e) => {
                    e.preventDefault();
                    openDay(ch, day).catch(fail);
                  },
                },
                label,
              ),
            );
          }),
        ),
      ),
    );
    drawChart(days.slice().reverse(), byKey);
  }

  function drawChart(days, byKey) {
    if (typeof Chart === 'undefined') return;
    const colors = { wechat: '#2aae67', alipay: '#1677ff', bank: '#c0392b' };
    const datasets = CHANNELS.map((ch) => ({
      type: 'bar',
      label: `${ch} rows`,
      stack: 'rows',
      backgroundColor: colors[ch],
      yAxisID: 'y',
      data: days.map((d) => (byKey.get(`${d}|${ch}`) || {}).statementRows || 0),
    }));
    datasets.push({
      type: 'line',
      label: 'differences (all channels)',
      borderColor: '#e67e22',
      backgroundColor: '#e67e22',
      yAxisID: 'y1',
      tension: 0,
      data: days.map((d) => CHANNELS.reduce((n, ch) => n + ((byKey.get(`${d}|${ch}`) || {}).differences || 0), 0)),
    });
    const cfg = {
      data: { labels: days, datasets },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          y: {
            stacked: true,
            beginAtZero: true,
            ticks: { precision: 0 },
            title: { display: true, text: 'statement rows' },
          },
          y1: {
            position: 'right',
            beginAtZero: true,
            grid: { drawOnChartArea: false },
            title: { display: true, text: 'differences' },
            ticks: { precision: 0 },
          },
          x: { stacked: true },
        },
      },
    };
    if (chart) chart.destroy();
    chart = new Chart($('chart'), cfg);
  }

  async function openDay(channel, day) {
    current = { channel, day };
    for (const s of document.querySelectorAll('.tab')) s.hidden = s.id !== 'day';
    const data = await api('GET', `/hq/api/days/${channel}/${day}`);
    $('day-title').textContent = `${channel} · ${day}`;
    const c = data.cell;
    const facts = c
      ? [
          ['State', c.state.replace('_', ' ')],
          ['Statement rows', c.statementRows],
          ['Platform rows', c.platformRows],
          ['Matched', c.matched],
          ['Differences', `${c.open} open, ${c.resolved} resolved, ${c.cleared} cleared`],
          ['Net at the channel', money(c.channelMinor, c.currency)],
          ['Net on the platform', money(c.platformMinor, c.currency)],
          ['Fees', money(c.feesMinor, c.currency)],
          ['Download', c.download || '—'],
          ['Last run', c.lastRunAt || '—'],
        ]
      : [['State', 'not reconciled yet']];
    if (c && c.error) facts.push(['Problem', c.error]);
    $('day-facts').replaceChildren(...facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    $('diff-csv').href = `/hq/api/days/${channel}/${day}/differences.csv`;
    $('platform-csv').href = `/hq/api/days/${channel}/${day}/platform.csv`;
    const signed = data.signOff;
    $('locked').hidden = !signed;
    $('locked').textContent = signed
      ? `Signed off by ${signed.signedBy} at ${signed.signedAt}${signed.note ? ` — ${signed.note}` : ''}. This day is locked; book corrections as adjustments on a later day.`
      : '';
    $('sign-off').disabled = !!signed;
    $('day-rerun').disabled = !!signed;
    const rows = data.differences.map((d) => {
      const x = d.data;
      const chSide = x.channelStatus
        ? `${x.channelStatus} ${money(x.channelAmountMinor, x.channelCurrency)}${x.occurrences ? ` ×${x.occurrences}` : ''}${x.channelTime ? ` at ${x.channelTime}` : ''}`
        : '—';
      const plSide = x.platformStatus
        ? `${x.platformStatus} ${money(x.platformAmountMinor, x.platformCurrency)}${x.paidAt ? ` at ${x.paidAt}` : ''}`
        : '—';
      const res =
        d.state === 'open'
          ? ''
          : `${d.action || d.state}${d.adjustMinor ? ` ${money(d.adjustMinor, x.channelCurrency || x.platformCurrency)}` : ''}${d.linkedOrder ? ` → ${d.linkedOrder}` : ''}: ${d.note || ''} (${d.actor}, ${d.at}, v${d.version})`;
      return el(
        'tr',
        { 'data-key': d.key, 'data-state': d.state },
        el('td', {}, d.category),
        el('td', {}, d.kind),
        el('td', {}, d.id),
        el('td', {}, chSide),
        el('td', {}, plSide),
        el('td', { class: `state-${d.state}` }, d.state),
        el('td', {}, res),
        el(
          'td',
          {},
          d.state === 'cleared'
            ? ''
            : el(
                'button',
                { type: 'button', class: 'resolve', onclick: () => openResolve(d) },
                d.state === 'open' ? 'Resolve' : 'Change',
              ),
        ),
      );
    });
    $('diffs').tBodies[0].replaceChildren(
      ...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 8 }, 'No differences.'))]),
    );
  }

  function openResolve(d) {
    const f = $('resolve-form');
    f.key.value = d.key;
    f.action.value = 'accept';
    f.note.value = '';
    f.adjustMinor.value = '';
    f.linkedOrder.value = '';
    $('resolve-id').textContent = `${d.category} ${d.kind} ${d.id}`;
    $('resolve-error').textContent = '';
    syncResolve();
    $('resolve-dialog').showModal();
  }
  function syncResolve() {
    const a = $('resolve-form').action.value;
    for (const l of document.querySelectorAll('.for-adjust')) l.hidden = a !== 'adjust';
    for (const l of document.querySelectorAll('.for-link')) l.hidden = a !== 'link';
  }
  $('resolve-form').action.addEventListener('change', syncResolve);
  $('resolve-cancel').addEventListener('click', () => $('resolve-dialog').close());
  $('resolve-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      await api('POST', '/hq/api/resolve', {
        key: f.key.value,
        action: f.action.value,
        note: f.note.value,
        adjustMinor: f.adjustMinor.value === '' ? undefined : Number(f.adjustMinor.value),
        linkedOrder: f.linkedOrder.value || undefined,
      });
      $('resolve-dialog').close();
      say('Resolution saved.');
      await openDay(current.channel, current.day);
    } catch (err) {
      $('resolve-error').textContent = err.message;
    }
  });
  $('sign-off').addEventListener('click', async () => {
    try {
      await api('POST', `/hq/api/days/${current.channel}/${current.day}/sign-off`, {});
      say(`${current.channel} ${current.day} signed off.`);
      await openDay(current.channel, current.day);
    } catch (err) {
      fail(err);
    }
  });
  $('day-rerun').addEventListener('click', async () => {
    try {
      const r = await api('POST', `/hq/api/days/${current.channel}/${current.day}/reconcile`, {});
      say(
        `Reconciled: ${r.summary.matched} matched, downloads ${r.downloads.map((d) => d.state).join(', ') || 'none'}.`,
      );
      await openDay(current.channel, current.day);
    } catch (err) {
      fail(err);
    }
  });
  $('back').addEventListener('click', () => showTab('overview'));
  $('ov-load').addEventListener('click', () => loadOverview().catch(fail));
  $('run-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      const r = await api('POST', `/hq/api/days/${f.channel.value}/${f.day.value}/reconcile`, {
        download: f.download.checked,
      });
      say(
        `${f.channel.value} ${f.day.value}: ${r.summary.statementRows} statement rows, ${r.summary.matched} matched; downloads: ${r.downloads.map((d) => d.state).join(', ') || 'no merchant has this channel'}.`,
      );
      await loadOverview();
    } catch (err) {
      fail(err);
    }
  });

  async function loadFiles() {
    const data = await api('GET', '/hq/api/files');
    const rows = data.files.map((f) =>
      el(
        'tr',
        {},
        el('td', {}, f.day),
        el('td', {}, f.channel),
        el('td', {}, f.merchantId),
        el('td', {}, f.state),
        el('td', { title: f.sha256 || '' }, f.fileName || (f.sha256 ? f.sha256.slice(0, 12) : '—')),
        el('td', { class: 'num' }, f.size ?? ''),
        el('td', { class: 'num' }, f.attempts),
        el('td', {}, f.runState || '—'),
        el('td', {}, f.runError || f.lastError || ''),
      ),
    );
    $('file-list').tBodies[0].replaceChildren(
      ...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 9 }, 'Nothing downloaded yet.'))]),
    );
  }

  async function loadSettlement() {
    const q = `from=${encodeURIComponent($('st-from').value)}&to=${encodeURIComponent($('st-to').value)}`;
    $('st-csv').href = `/hq/api/settlement.csv?${q}`;
    const data = await api('GET', `/hq/api/settlement?${q}`);
    const rows = data.rows.map((r) =>
      el(
        'tr',
        {},
        el('td', {}, r.day),
        el('td', {}, r.merchantName),
        el('td', {}, r.channel),
        el('td', {}, r.currency),
        el('td', { class: 'num' }, r.payments),
        el('td', { class: 'num' }, money(r.grossMinor, r.currency)),
        el('td', { class: 'num' }, money(r.refundsMinor, r.currency)),
        el('td', { class: 'num' }, money(r.feesMinor, r.currency)),
        el('td', { class: 'num' }, money(r.adjustmentsMinor, r.currency)),
        el('td', { class: 'num' }, money(r.netMinor, r.currency)),
        el('td', { class: 'num' }, money(r.operatorFeesMinor, r.currency)),
        el('td', { class: 'num' }, money(r.netAfterOperatorMinor, r.currency)),
        el('td', {}, r.signedOff ? 'yes' : 'no'),
      ),
    );
    $('st-list').tBodies[0].replaceChildren(
      ...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 13 }, 'No settlement in these days.'))]),
    );
  }
  $('st-load').addEventListener('click', () => loadSettlement().catch(fail));

  // A counter's devices in states that need no one: anything else is highlighted.
  const HEALTHY = ['ready', 'connected', 'keyboard', 'none'];
  function when(iso) {
    return iso ? iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z') : 'never';
  }
  async function loadCounters() {
    const data = await api('GET', '/hq/api/terminals');
    const rows = data.terminals.map((t) => {
      const devices = t.health || [];
      const problem = devices.some((d) => !HEALTHY.includes(d.state));
      return el(
        'tr',
        { 'data-terminal': t.id, class: problem ? 'has-problem' : '' },
        el('td', {}, `${t.store} (${t.storeCode})`, me.hq ? el('div', { class: 'hint' }, t.merchant) : null),
        el('td', {}, t.name),
        el(
          'td',
          {},
          t.connected
            ? el('span', { class: 'link-up' }, 'connected')
            : el('span', { class: 'link-down' }, 'not linked to this bridge'),
        ),
        el('td', {}, when(t.lastSeenAt)),
        el(
          'td',
          { class: 'devices' },
          ...(t.health
            ? devices.map((d) =>
                el(
                  'span',
                  {
                    class: `dev${HEALTHY.includes(d.state) ? '' : ' dev-problem'}`,
                    'data-kind': d.kind,
                    'data-state': d.state,
                    title: d.detail || '',
                  },
                  `${d.kind}: ${d.state}${d.detail && !HEALTHY.includes(d.state) ? ` (${d.detail})` : ''}`,
                ),
              )
            : ['no report yet']),
        ),
        el('td', {}, when(t.healthAt)),
      );
    });
    $('counter-list').tBodies[0].replaceChildren(
      ...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 6 }, 'No counters paired yet.'))]),
    );
  }
  $('counters-load').addEventListener('click', () => loadCounters().catch(fail));

  async function loadStores() {
    const data = await api('GET', '/hq/api/stores');
    $('pair-form').store.replaceChildren(
      ...data.stores.map((s) => el('option', { value: s.id }, `${s.name} (${s.code}) — ${s.merchant}`)),
    );
  }
  $('pair-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      const r = await api('POST', '/hq/api/pairing-codes', {
        store: f.store.value,
        terminalName: f.terminalName.value,
      });
      $('pair-result').hidden = false;
      $('pair-result').textContent = `${r.code}  (valid until ${r.expiresAt})`;
    } catch (err) {
      fail(err);
    }
  });

  // Payouts: runs (HQ), the merchant's bank accounts, and remittances (a merchant's users: their own).
  let poRun = null;
  async function loadPayouts() {
    const accounts = await api('GET', '/hq/api/payouts/accounts');
    $('po-accounts').tBodies[0].replaceChildren(
      ...accounts.accounts.map((a) =>
        el(
          'tr',
          {},
          el('td', {}, a.merchantName),
          el('td', {}, a.account_number),
          el('td', {}, a.account_name),
          el('td', {}, a.schedule + (a.schedule_day ? ` (${a.schedule_day})` : '')),
          el('td', { class: 'num' }, money(a.minimum_minor, 'NZD')),
          el('td', {}, a.state),
          el('td', {}, a.payable_from || ''),
          el(
            'td',
            {},
            me.hq && a.state === 'proposed'
              ? el('button', { type: 'button', onclick: () => decide(a.id, true) }, 'Approve')
              : null,
            me.hq && a.state === 'proposed'
              ? el('button', { type: 'button', onclick: () => decide(a.id, false) }, 'Reject')
              : null,
          ),
        ),
      ),
    );
    const remits = await api('GET', '/hq/api/payouts/remittances');
    $('po-remits').tBodies[0].replaceChildren(
      ...remits.remittances.map((r) =>
        el(
          'tr',
          {},
          el('td', {}, r.runNumber),
          el('td', {}, r.merchantName),
          el('td', { class: 'num' }, money(r.amountMinor, 'NZD')),
          el('td', {}, r.dueDate || ''),
          el('td', {}, r.bankStatus ? `${r.bankStatus} ${r.bankDate || ''}` : 'not seen yet'),
          el(
            'td',
            {},
            el('a', { href: `/hq/api/payouts/remittances/${encodeURIComponent(r.id)}/remittance.pdf` }, 'PDF'),
            ' ',
            el('a', { href: `/hq/api/payouts/remittances/${encodeURIComponent(r.id)}/remittance.csv` }, 'CSV'),
          ),
        ),
      ),
    );
    if (!me.hq) return;
    const merchants = await api('GET', '/hq/api/payouts/merchants');
    const settings = await api('GET', '/hq/api/payouts/settings');
    const f = $('po-settings');
    f.originatorAccount.value = settings.originatorAccount || '';
    f.originatorName.value = settings.originatorName || '';
    f.coolingOffHours.value = settings.coolingOffHours;
    $('po-format').replaceChildren(
      ...settings.formats.map((x) => el('option', { value: x.id }, `${x.name}${x.confirmed ? '' : ' (unconfirmed)'}`)),
    );
    const fees = await api('GET', '/hq/api/payouts/fees');
    $('po-fees').tBodies[0].replaceChildren(
      ...fees.fees.map((x) =>
        el(
          'tr',
          {},
          el('td', {}, x.merchant_id),
          el('td', {}, x.channel),
          el('td', { class: 'num' }, `${x.percent} %`),
          el('td', { class: 'num' }, money(x.fixed_minor, 'NZD')),
          el('td', {}, x.updated_by),
        ),
      ),
    );
    for (const s of document.querySelectorAll('.po-merchants')) {
      const keep = s.value;
      s.replaceChildren(...merchants.merchants.map((m) => el('option', { value: m.id }, m.name)));
      if (keep) s.value = keep;
    }
    const runs = await api('GET', '/hq/api/payouts/runs');
    $('po-runs').tBodies[0].replaceChildren(
      ...runs.runs.map((r) =>
        el(
          'tr',
          {},
          el('td', {}, r.number),
          el('td', {}, r.state),
          el('td', { class: 'num' }, money(r.total_minor, r.currency)),
          el('td', {}, `${r.built_by} ${r.built_at}`),
          el('td', {}, r.approved_by ? `${r.approved_by} ${r.approved_at}` : ''),
          el('td', {}, r.format ? `${r.format} (due ${r.due_date})` : ''),
          el('td', {}, el('button', { type: 'button', onclick: () => openRun(r.id).catch(fail) }, 'Open')),
        ),
      ),
    );
    if (poRun) await openRun(poRun.id);
  }
  async function decide(id, approve) {
    try {
      await api('POST', `/hq/api/payouts/accounts/${encodeURIComponent(id)}/decide`, { approve });
      say(approve ? 'Account approved: a change is paid after the cooling-off period.' : 'Proposal rejected.');
      await loadPayouts();
    } catch (err) {
      fail(err);
    }
  }
  async function openRun(id) {
    const data = await api('GET', `/hq/api/payouts/runs/${encodeURIComponent(id)}`);
    poRun = data.run;
    $('po-run').hidden = false;
    $('po-problems').replaceChildren();
    $('po-run-title').textContent =
      `Run ${data.run.number}: ${data.run.state}, ${money(data.run.total_minor, data.run.currency)}`;
    $('po-approve').disabled = data.run.state !== 'built' || data.run.built_by === me.username;
    $('po-cancel').disabled = !['built', 'approved'].includes(data.run.state);
    $('po-file').disabled = !['approved', 'downloaded'].includes(data.run.state);
    if (data.run.format) $('po-format').value = data.run.format;
    if (data.run.due_date) $('po-due').value = data.run.due_date;
    $('po-lines').tBodies[0].replaceChildren(
      ...data.lines.map((l) =>
        el(
          'tr',
          { class: l.flagged ? 'flagged' : '' },
          el('td', {}, l.line_no),
          el('td', {}, l.merchantName),
          el('td', {}, l.account_number || '—'),
          el('td', { class: 'num' }, money(l.gross_minor, 'NZD')),
          el('td', { class: 'num' }, money(-l.refunds_minor, 'NZD')),
          el('td', { class: 'num' }, money(-l.channel_fees_minor, 'NZD')),
          el('td', { class: 'num' }, money(-l.operator_fees_minor, 'NZD')),
          el('td', { class: 'num' }, money(l.adjustments_minor, 'NZD')),
          el('td', { class: 'num' }, money(l.carried_in_minor, 'NZD')),
          el('td', { class: 'num' }, money(l.amount_minor, 'NZD')),
          el('td', { class: 'num' }, money(l.carried_out_minor, 'NZD')),
          el('td', {}, l.status + (l.reason ? ` — ${l.reason}` : '')),
          el(
            'td',
            {},
            (l.bank_status
              ? `${l.bank_status}${l.bank_amount_minor !== null ? ` ${money(l.bank_amount_minor, 'NZD')}` : ''} ${l.bank_date || ''}`
              : '') + (l.flagged ? ' ⚑ missing 3 business days' : ''),
          ),
        ),
      ),
    );
  }
  $('po-refresh').addEventListener('click', () => loadPayouts().catch(fail));
  $('po-build').addEventListener('click', async () => {
    try {
      const r = await api('POST', '/hq/api/payouts/runs', {});
      say(`Run ${r.run.number} built: another HQ user approves it.`);
      poRun = r.run;
      await loadPayouts();
    } catch (err) {
      fail(err);
    }
  });
  $('po-approve').addEventListener('click', async () => {
    try {
      await api('POST', `/hq/api/payouts/runs/${encodeURIComponent(poRun.id)}/approve`, {});
      say('Run approved: its bank file can be downloaded.');
      await loadPayouts();
    } catch (err) {
      fail(err);
    }
  });
  $('po-cancel').addEventListener('click', async () => {
    if (!confirm('Cancel this run? Its days go back to the next run.')) return;
    try {
      await api('POST', `/hq/api/payouts/runs/${encodeURIComponent(poRun.id)}/cancel`, {});
      say('Run cancelled.');
      await loadPayouts();
    } catch (err) {
      fail(err);
    }
  });
  function showProblems(list) {
    $('po-problems').replaceChildren(...list.map((p) => el('li', {}, p)));
  }
  $('po-check').addEventListener('click', async () => {
    try {
      const q = `format=${encodeURIComponent($('po-format').value)}&due=${encodeURIComponent($('po-due').value)}`;
      const r = await api('GET', `/hq/api/payouts/runs/${encodeURIComponent(poRun.id)}/problems?${q}`);
      showProblems(r.problems);
      if (!r.problems.length) say('The format can carry this run.');
    } catch (err) {
      fail(err);
    }
  });
  // The file is a POST (it fixes the run): fetched with the CSRF token, then saved from a blob.
  $('po-file').addEventListener('click', async () => {
    try {
      const res = await fetch(`/hq/api/payouts/runs/${encodeURIComponent(poRun.id)}/file`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': me.csrf },
        body: JSON.stringify({ format: $('po-format').value, dueDate: $('po-due').value || undefined }),
        credentials: 'same-origin',
      });
      if (!res.ok) {
        const data = await res.json().catch(() => ({}));
        showProblems((data.error && data.error.details && data.error.details.problems) || []);
        throw new Error((data.error && data.error.message) || `HTTP ${res.status}`);
      }
      const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') || '');
      const a = el('a', { href: URL.createObjectURL(await res.blob()), download: name ? name[1] : 'payout' });
      document.body.append(a);
      a.click();
      a.remove();
      say('Bank file downloaded: upload it to the bank. The run cannot change any more.');
      await loadPayouts();
    } catch (err) {
      fail(err);
    }
  });
  $('po-statement').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      const bytes = new Uint8Array(await f.file.files[0].arrayBuffer());
      let bin = '';
      for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      const r = await api('POST', '/hq/api/payouts/statements', { kind: f.kind.value, content: btoa(bin) });
      say(
        `Statement read: ${r.lines} lines; ${r.matched.filter((m) => m.status === 'paid').length} payouts paid, ` +
          `${r.matched.filter((m) => m.status === 'different').length} with a different amount, ${r.missing.length} missing.`,
      );
      await loadPayouts();
    } catch (err) {
      fail(err);
    }
  });
  $('po-fee-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      await api('POST', '/hq/api/payouts/fees', {
        merchantId: f.merchantId.value,
        channel: f.channel.value,
        percent: f.percent.value,
        fixedMinor: Number(f.fixedMinor.value || 0),
      });
      say('Operator fee saved.');
      await loadPayouts();
    } catch (err) {
      fail(err);
    }
  });
  $('po-settings').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      await api('POST', '/hq/api/payouts/settings', {
        originatorAccount: f.originatorAccount.value || undefined,
        originatorName: f.originatorName.value || undefined,
        coolingOffHours: f.coolingOffHours.value === '' ? undefined : Number(f.coolingOffHours.value),
      });
      say('Payout settings saved.');
    } catch (err) {
      fail(err);
    }
  });
  $('po-account-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = e.target;
    try {
      const r = await api('POST', '/hq/api/payouts/accounts', {
        merchantId: me.hq ? f.merchantId.value : undefined,
        accountNumber: f.accountNumber.value,
        accountName: f.accountName.value,
        schedule: f.schedule.value,
        scheduleDay: f.scheduleDay.value === '' ? undefined : Number(f.scheduleDay.value),
        minimumMinor: Number(f.minimumMinor.value || 0),
      });
      say(
        r.account.state === 'proposed'
          ? 'Account proposed: HQ approves it.'
          : `Account saved as ${r.account.account_number}; paid from ${r.account.payable_from}.`,
      );
      await loadPayouts();
    } catch (err) {
      fail(err);
    }
  });

  start();
})();
