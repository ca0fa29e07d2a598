/**
 * Example raw sales data for forecast retraining: daily sales extracts of fresh-food items in stores, with weekly
 * and yearly seasonality, discounts that lift demand, weather (temperature) that moves some categories, and Poisson
 * noise. Popular items sell tens a day per store, slow-moving ones a few. Deterministic for a seed, so a later extract
 * (`--start` after the last day) continues the same series.
 *
 *   npx tsx examples/forecast/generate-sales.ts --items 12 --stores 3 --start 2026-01-01 --days 120 > sales.csv
 *   aws s3 cp sales.csv s3://mlops-forecast/raw/sales/2026-04-30.csv --endpoint-url http://127.0.0.1:4566
 *
 * Columns: date,store_id,item_id,category,units_sold,discount,inventory,temperature_c (the ETL's input, see
 * local/aws/services/glue/etl/forecast-datasets.ts).
 */
import { writeFileSync } from 'node:fs';

export interface SalesOptions {
  /** Items per store (default 12); the first third are popular. */
  items?: number;
  /** Stores (default 3; the deployment this models had 168). */
  stores?: number;
  /** First day, yyyy-MM-dd (default 2026-01-01). */
  start?: string;
  /** Days (default 120). */
  days?: number;
  /** Noise multiplier over Poisson noise (default 1): more makes the series harder to forecast. */
  noise?: number;
  seed?: number;
}

const CATEGORIES = ['bakery', 'dairy', 'produce', 'meat', 'deli', 'seafood'];
const EPOCH = Date.parse('2026-01-01T00:00:00Z');

/** mulberry32: a small seeded generator, so the same options give the same data. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function poisson(lambda: number, random: () => number): number {
  if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * gaussian(random)));
  const l = Math.exp(-lambda);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= random();
  } while (p > l);
  return k - 1;
}

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
}

/** A hash of (seed, day, series) -> a generator: each day's values depend on the day, not on where a file started. */
function dayRandom(seed: number, day: number, series: number): () => number {
  return rng((seed * 2654435761) ^ (day * 40503) ^ (series * 97));
}

export function generateSales(opts: SalesOptions = {}): string {
  const items = opts.items ?? 12;
  const stores = opts.stores ?? 3;
  const days = opts.days ?? 120;
  const noise = opts.noise ?? 1;
  const seed = opts.seed ?? 42;
  const start = Date.parse(`${opts.start ?? '2026-01-01'}T00:00:00Z`);
  if (Number.isNaN(start)) throw new Error(`--start ${opts.start} is not yyyy-MM-dd`);
  const rows = ['date,store_id,item_id,category,units_sold,discount,inventory,temperature_c'];
  for (let d = 0; d < days; d++) {
    const t = start + d * 86_400_000;
    const dayIndex = Math.round((t - EPOCH) / 86_400_000);
    const date = new Date(t).toISOString().slice(0, 10);
    const weekday = new Date(t).getUTCDay();
    const yearly = Math.sin((2 * Math.PI * dayIndex) / 365.25);
    for (let s = 0; s < stores; s++) {
      const weather = dayRandom(seed, dayIndex, 10_000 + s);
      const temperature = 12 + 10 * yearly + 3 * gaussian(weather);
      for (let i = 0; i < items; i++) {
        const series = s * items + i;
        const traits = rng(seed + series * 7919);
        const popular = i < Math.ceil(items / 3);
        const base = popular ? 15 + 25 * traits() : 1 + 4 * traits();
        const weatherSensitive = traits() < 0.5;
        const random = dayRandom(seed, dayIndex, series);
        const discount = random() < 0.1 ? Math.round((0.1 + 0.2 * random()) * 100) / 100 : 0;
        const weekly = weekday === 0 || weekday === 6 ? 1.3 : weekday === 5 ? 1.15 : 1;
        const warm = weatherSensitive ? 1 + 0.02 * (temperature - 12) : 1;
        const lambda = Math.max(0.1, base * weekly * warm * (1 + 2 * discount) * (1 + 0.1 * yearly));
        const sold = poisson(lambda, random);
        const units = Math.max(0, Math.round(sold + (noise - 1) * Math.sqrt(lambda) * gaussian(random) * 2));
        const inventory = Math.round(lambda * 1.5 + 5 * random());
        const category = CATEGORIES[series % CATEGORIES.length] as string;
        rows.push(`${date},store_${String(s + 1).padStart(3, '0')},item_${String(i + 1).padStart(3, '0')},${category},${units},${discount},${inventory},${temperature.toFixed(1)}`);
      }
    }
  }
  return `${rows.join('\n')}\n`;
}

function main(argv: string[]): void {
  const opts: SalesOptions = {};
  let out: string | undefined;
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--items') opts.items = Number(value);
    else if (flag === '--stores') opts.stores = Number(value);
    else if (flag === '--start') opts.start = value;
    else if (flag === '--days') opts.days = Number(value);
    else if (flag === '--noise') opts.noise = Number(value);
    else if (flag === '--seed') opts.seed = Number(value);
    else if (flag === '--out') out = value;
    else throw new Error(`unknown option ${flag} (--items, --stores, --start, --days, --noise, --seed, --out)`);
  }
  const csv = generateSales(opts);
  if (out) writeFileSync(out, csv);
  else process.stdout.write(csv);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
}
