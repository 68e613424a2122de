import { DuckDBInstance } from '@duckdb/node-api';
import type { Expected } from './reconcile-data.js';

// The baseline: DuckDB loads the same two files and computes the same classification in
// SQL (the rules of cloud-bridge/reconcile/classify.ts, written again independently), so
// its counts double-check ours and its time is the yardstick.

export type DuckCounts = Expected;

const q = (s: string): string => `'${s.replace(/'/g, "''")}'`;

export async function duckdbReconcile(
  statementPath: string,
  platformPath: string,
  date: string,
  windowMinutes = 15,
  threads = 2,
): Promise<DuckCounts> {
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) });
  const con = await instance.connect();
  const dayStart = `TIMESTAMPTZ '${date} 00:00:00+08'`;
  const win = `INTERVAL ${windowMinutes} MINUTE`;
  // The WeChat fields are "`value" joined by ",`": split on the two-byte delimiter and
  // strip the first field's backtick. Summary lines have fewer columns (null-padded) and
  // are dropped by requiring a transaction status.
  const cols = Array.from({ length: 35 }, (_, i) => `'c${i}': 'VARCHAR'`).join(', ');
  await con.run(`
    CREATE TEMP TABLE s AS
    SELECT
      CASE WHEN c9 = 'REFUND' THEN 1 ELSE 0 END AS kind,
      CASE WHEN c9 = 'REFUND' THEN c15 ELSE c6 END AS id,
      CASE WHEN c9 = 'SUCCESS' THEN 1 WHEN c9 = 'REVOKED' THEN 2
           WHEN c19 IN ('SUCCESS', '') OR c19 IS NULL THEN 3 WHEN c19 = 'PROCESSING' THEN 4 ELSE 5 END AS cstatus,
      CAST(round(CAST(CASE WHEN c9 = 'REFUND' THEN c16 ELSE c12 END AS DECIMAL(18, 3)) * 100) AS BIGINT) AS amount,
      c11 AS currency
    FROM read_csv(${q(statementPath)}, delim = ',\`', quote = '', escape = '', header = false, skip = 1,
                  columns = {${cols}}, null_padding = true, auto_detect = false)
    WHERE c9 IS NOT NULL AND c9 <> ''`);
  await con.run(`
    CREATE TEMP TABLE p AS
    SELECT kind, id, pstatus, amount, currency, t,
      CASE WHEN t IS NULL THEN 4
           WHEN t >= ${dayStart} AND t < ${dayStart} + INTERVAL 1 DAY THEN 1
           WHEN t < ${dayStart} AND t >= ${dayStart} - ${win} THEN 2
           WHEN t >= ${dayStart} + INTERVAL 1 DAY AND t < ${dayStart} + INTERVAL 1 DAY + ${win} THEN 3
           ELSE 0 END AS role
    FROM (
      SELECT CASE WHEN kind = 'refund' THEN 1 ELSE 0 END AS kind,
        CASE WHEN kind = 'refund' THEN out_refund_no ELSE out_trade_no END AS id,
        status AS pstatus, CAST(amount_minor AS BIGINT) AS amount, currency,
        CAST(NULLIF(paid_at, '') AS TIMESTAMPTZ) AS t
      FROM read_csv(${q(platformPath)}, header = true, all_varchar = true)
      WHERE channel = 'wechat')
    WHERE role > 0 OR t IS NULL`);
  const reader = await con.runAndReadAll(`
    WITH sg AS (
      SELECT kind, id, count(*) AS n,
        -- a later state of the same transaction replaces the earlier one (classify.ts supersedes)
        max(cstatus) AS cstatus, any_value(amount) AS amount, any_value(currency) AS currency,
        count(*) - count(DISTINCT cstatus) AS dups
      FROM s GROUP BY kind, id),
    j AS (
      SELECT sg.dups, sg.cstatus, sg.amount AS ca, sg.currency AS cc, p.pstatus, p.amount AS pa, p.currency AS pc, p.role, p.t,
        sg.id IS NOT NULL AS has_c, p.id IS NOT NULL AS has_p
      FROM sg FULL OUTER JOIN p ON sg.kind = p.kind AND sg.id = p.id),
    c AS (
      SELECT *,
        CASE
          WHEN has_c AND has_p THEN
            CASE WHEN cc <> pc THEN 'currencyMismatch'
                 WHEN ca <> pa THEN 'amountMismatch'
                 WHEN NOT ((cstatus = 1 AND pstatus IN ('paid', 'partially_refunded', 'refunded'))
                        OR (cstatus = 2 AND pstatus IN ('reversed', 'closed'))
                        OR (cstatus = 3 AND pstatus = 'succeeded') OR (cstatus = 4 AND pstatus = 'processing')
                        OR (cstatus = 5 AND pstatus = 'failed')) THEN 'statusMismatch'
                 ELSE 'matched' END
          WHEN has_c THEN 'channelOnly'
          WHEN role = 1 AND pstatus IN ('paid', 'partially_refunded', 'refunded', 'succeeded', 'processing') THEN
            CASE WHEN t >= ${dayStart} + INTERVAL 1 DAY - ${win} THEN 'suspense' ELSE 'platformOnly' END
          ELSE NULL END AS category
      FROM j)
    SELECT
      (SELECT count(*) FROM s) AS statement_rows,
      count(*) FILTER (WHERE has_p AND (role = 1 OR has_c)) AS platform_rows,
      count(*) FILTER (WHERE category = 'matched') AS matched,
      count(*) FILTER (WHERE category = 'amountMismatch') AS amount_mismatch,
      count(*) FILTER (WHERE category = 'currencyMismatch') AS currency_mismatch,
      count(*) FILTER (WHERE category = 'statusMismatch') AS status_mismatch,
      count(*) FILTER (WHERE category = 'channelOnly') AS channel_only,
      count(*) FILTER (WHERE category = 'platformOnly') AS platform_only,
      coalesce(sum(dups) FILTER (WHERE has_c), 0) AS duplicates,
      count(*) FILTER (WHERE category = 'suspense') AS suspense
    FROM c`);
  const row = reader.getRows()[0]!.map((v) => Number(v));
  con.closeSync();
  instance.closeSync();
  const [
    statementRows,
    platformRows,
    matched,
    amountMismatch,
    currencyMismatch,
    statusMismatch,
    channelOnly,
    platformOnly,
    duplicates,
    suspense,
  ] = row as number[];
  return {
    statementRows: statementRows!,
    platformRows: platformRows!,
    matched: matched!,
    amountMismatch: amountMismatch!,
    currencyMismatch: currencyMismatch!,
    statusMismatch: statusMismatch!,
    channelOnly: channelOnly!,
    platformOnly: platformOnly!,
    duplicates: duplicates!,
    suspense: suspense!,
  };
}
