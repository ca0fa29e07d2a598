/**
 * The credit-card fraud data set of the Feature Store ingestion example, at any size: cards, transactions with
 * amounts and timestamps, fraud labels, and the aggregates the feature groups hold (per card, over the last 10
 * minutes and the last week: number of transactions, average amount, and their ratios), computed by DuckDB's
 * window functions. Writes CSV and Parquet:
 *
 *   transactions.csv / .parquet  every transaction, enriched (the offline group's bulk ingestion)
 *   cards-1w.csv / .parquet      the latest one-week aggregates per card (the nightly batch group)
 *
 *   npx tsx examples/features/generate.ts --transactions 1000000 --cards 10000 --days 7 --out data/
 *
 * The same arguments give the same data (values come from hashes of the row number and the seed).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

export interface GenerateOptions {
  transactions: number;
  cards: number;
  /** Transactions are spread evenly over this many days, ending at `end`. */
  days: number;
  end?: Date;
  seed?: number;
  /** Output directory (created). */
  out: string;
  formats?: ('csv' | 'parquet')[];
}

export interface Generated {
  transactions: { csv?: string; parquet?: string; rows: number };
  cards: { csv?: string; parquet?: string; rows: number };
}

const q = (path: string) => `'${path.replace(/'/g, "''")}'`;

export async function generateFraudData(opts: GenerateOptions): Promise<Generated> {
  const out = resolve(opts.out);
  mkdirSync(out, { recursive: true });
  const formats = opts.formats ?? ['csv', 'parquet'];
  const endMs = (opts.end ?? new Date('2024-03-08T00:00:00Z')).getTime();
  const spanMs = Math.round(opts.days * 86_400_000);
  const seed = opts.seed ?? 42;
  const db = await DuckDBInstance.create(':memory:', { threads: '2' });
  const c = await db.connect();
  try {
    // Event times are distinct milliseconds, so every card's latest transaction is one row.
    await c.run(`
      CREATE TABLE tx AS
      SELECT
        'T' || lpad(CAST(i AS VARCHAR), 12, '0') AS tid,
        4000000000000000 + (hash(i, ${seed}) % ${opts.cards}) * 7919 AS cc_num,
        make_timestamp(CAST((${endMs - spanMs} + i * ${spanMs / Math.max(1, opts.transactions)}) * 1000 AS BIGINT)) AS ts,
        round(1 + (hash(i, ${seed} + 1) % 50000) / 100.0 * (1 + (hash(i, ${seed} + 2) % 3)), 2) AS amount,
        CASE WHEN hash(i, ${seed} + 3) % 1000 < 5 THEN 1 ELSE 0 END AS fraud_label
      FROM range(${opts.transactions}) t(i)`);
    await c.run(`
      CREATE TABLE enriched AS
      SELECT tid, cc_num, strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ') AS trans_time, amount, fraud_label,
             num_trans_last_10m, round(avg_amt_last_10m, 4) AS avg_amt_last_10m,
             num_trans_last_1w, round(avg_amt_last_1w, 4) AS avg_amt_last_1w,
             round(amount / avg_amt_last_1w, 6) AS amt_ratio1,
             round(avg_amt_last_10m / avg_amt_last_1w, 6) AS amt_ratio2,
             round(num_trans_last_10m / num_trans_last_1w, 6) AS count_ratio,
             ts
      FROM (
        SELECT *,
          count(*) OVER w10m AS num_trans_last_10m, avg(amount) OVER w10m AS avg_amt_last_10m,
          count(*) OVER w1w AS num_trans_last_1w, avg(amount) OVER w1w AS avg_amt_last_1w
        FROM tx
        WINDOW w10m AS (PARTITION BY cc_num ORDER BY ts RANGE BETWEEN INTERVAL 10 MINUTES PRECEDING AND CURRENT ROW),
               w1w AS (PARTITION BY cc_num ORDER BY ts RANGE BETWEEN INTERVAL 7 DAYS PRECEDING AND CURRENT ROW)
      )`);
    await c.run(`
      CREATE TABLE cards_1w AS
      SELECT cc_num, arg_max(trans_time, ts) AS trans_time, arg_max(num_trans_last_1w, ts) AS num_trans_last_1w, arg_max(avg_amt_last_1w, ts) AS avg_amt_last_1w
      FROM enriched GROUP BY cc_num`);
    const result: Generated = { transactions: { rows: opts.transactions }, cards: { rows: 0 } };
    const cardRows = await c.runAndReadAll('SELECT count(*) AS n FROM cards_1w');
    result.cards.rows = Number(cardRows.getRowObjects()[0]!.n);
    const txSelect = 'SELECT * EXCLUDE (ts) FROM enriched ORDER BY ts';
    const cardSelect = 'SELECT * FROM cards_1w ORDER BY cc_num';
    for (const format of formats) {
      const tx = join(out, `transactions.${format}`);
      const cards = join(out, `cards-1w.${format}`);
      const how = format === 'csv' ? '(HEADER, DELIMITER \',\')' : '(FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 50000)';
      await c.run(`COPY (${txSelect}) TO ${q(tx)} ${how}`);
      await c.run(`COPY (${cardSelect}) TO ${q(cards)} ${how}`);
      result.transactions[format] = tx;
      result.cards[format] = cards;
    }
    return result;
  } finally {
    c.closeSync();
    db.closeSync();
  }
}

/** The feature definitions of the two groups, as CreateFeatureGroup takes them. */
export const TRANSACTION_FEATURES = [
  { FeatureName: 'tid', FeatureType: 'String' },
  { FeatureName: 'cc_num', FeatureType: 'Integral' },
  { FeatureName: 'trans_time', FeatureType: 'String' },
  { FeatureName: 'amount', FeatureType: 'Fractional' },
  { FeatureName: 'fraud_label', FeatureType: 'Integral' },
  { FeatureName: 'num_trans_last_10m', FeatureType: 'Integral' },
  { FeatureName: 'avg_amt_last_10m', FeatureType: 'Fractional' },
  { FeatureName: 'num_trans_last_1w', FeatureType: 'Integral' },
  { FeatureName: 'avg_amt_last_1w', FeatureType: 'Fractional' },
  { FeatureName: 'amt_ratio1', FeatureType: 'Fractional' },
  { FeatureName: 'amt_ratio2', FeatureType: 'Fractional' },
  { FeatureName: 'count_ratio', FeatureType: 'Fractional' },
] as const;

function flag(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const opts: GenerateOptions = {
    transactions: Number(flag(args, 'transactions', '100000')),
    cards: Number(flag(args, 'cards', '1000')),
    days: Number(flag(args, 'days', '7')),
    seed: Number(flag(args, 'seed', '42')),
    out: flag(args, 'out', 'data/features'),
  };
  generateFraudData(opts).then(
    (r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`),
    (err: unknown) => {
      process.stderr.write(`generate: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
