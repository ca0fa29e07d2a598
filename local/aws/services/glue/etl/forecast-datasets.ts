/**
 * The example ETL of forecast retraining: raw daily sales extracts (one CSV per upload, as
 * `examples/forecast/generate-sales.ts` writes them) become, per segment (popular and slow-moving items), Amazon
 * Forecast's three RETAIL datasets and the one table SageMaker AutoML reads:
 *
 *   <output>/<segment>/target_time_series.csv   timestamp,item_id,demand                       (no header, as Forecast)
 *   <output>/<segment>/related_time_series.csv  timestamp,item_id,discount,inventory,temperature
 *   <output>/<segment>/item_metadata.csv        item_id,category,store
 *   <output>/<segment>/automl_training.csv      item_id,timestamp,demand,discount,inventory,temperature,category,store (header)
 *
 * `item_id` is `<item>_<store>` (one series per item and store). An item and store is popular when its mean daily
 * demand is at least `--popular_threshold` (default 10). A later extract of the same day and item replaces an earlier
 * one; days without a sale of a series are filled with demand 0.
 *
 * Arguments: `--raw_path s3://bucket/prefix/` (every CSV under it), `--output_path s3://bucket/prefix/`,
 * `--popular_threshold N`.
 */
import { EtlError, type EtlProgram } from './types';

export const RAW_SALES_COLUMNS = ['date', 'store_id', 'item_id', 'category', 'units_sold', 'discount', 'inventory', 'temperature_c'] as const;
export const SEGMENTS = ['popular', 'slow'] as const;

interface Day {
  demand: number;
  discount: number;
  inventory: number;
  temperature: number;
}

interface Series {
  item: string;
  store: string;
  category: string;
  days: Map<string, Day>;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

function withSlash(uri: string): string {
  return uri.endsWith('/') ? uri : `${uri}/`;
}

function number(value: string | undefined, what: string, where: string): number {
  const n = Number(value);
  if (value === undefined || value.trim() === '' || !Number.isFinite(n)) throw new EtlError(`${where}: ${what} "${value ?? ''}" is not a number`);
  return n;
}

function daysBetween(first: string, last: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${first}T00:00:00Z`); t <= Date.parse(`${last}T00:00:00Z`); t += 86_400_000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}

const fmt = (n: number): string => String(Math.round(n * 1000) / 1000);

export const forecastDatasets: EtlProgram = {
  name: 'forecast-datasets',
  description: 'raw daily sales CSVs -> Forecast RETAIL datasets (target, related, item metadata) and an AutoML table, per segment',
  run(args, io) {
    const raw = args['--raw_path'];
    const output = args['--output_path'];
    if (!raw || !output) throw new EtlError('arguments --raw_path and --output_path are required');
    const threshold = args['--popular_threshold'] === undefined ? 10 : number(args['--popular_threshold'], '--popular_threshold', 'arguments');
    const files = io.list(withSlash(raw)).filter((u) => u.endsWith('.csv'));
    if (files.length === 0) throw new EtlError(`no raw sales CSV under ${raw}`);
    const series = new Map<string, Series>();
    let rowsRead = 0;
    let bytesRead = 0;
    for (const file of files) {
      const body = io.read(file) ?? Buffer.alloc(0);
      bytesRead += body.length;
      const lines = body.toString('utf8').split(/\r?\n/).filter((l) => l.trim() !== '');
      const header = lines.shift()?.split(',').map((h) => h.trim());
      const col = (name: string): number => {
        const i = header?.indexOf(name) ?? -1;
        if (i < 0) throw new EtlError(`${file}: no column "${name}" (expected ${RAW_SALES_COLUMNS.join(',')})`);
        return i;
      };
      const c = Object.fromEntries(RAW_SALES_COLUMNS.map((n) => [n, col(n)])) as Record<(typeof RAW_SALES_COLUMNS)[number], number>;
      lines.forEach((line, i) => {
        const f = line.split(',');
        const where = `${file} line ${i + 2}`;
        const date = f[c.date]?.trim() ?? '';
        if (!DATE.test(date) || Number.isNaN(Date.parse(date))) throw new EtlError(`${where}: date "${date}" is not yyyy-MM-dd`);
        const item = f[c.item_id]?.trim() ?? '';
        const store = f[c.store_id]?.trim() ?? '';
        if (!item || !store) throw new EtlError(`${where}: item_id and store_id are required`);
        const id = `${item}_${store}`;
        const s = series.get(id) ?? { item, store, category: f[c.category]?.trim() ?? '', days: new Map() };
        s.days.set(date, {
          demand: number(f[c.units_sold], 'units_sold', where),
          discount: number(f[c.discount], 'discount', where),
          inventory: number(f[c.inventory], 'inventory', where),
          temperature: number(f[c.temperature_c], 'temperature_c', where),
        });
        series.set(id, s);
        rowsRead++;
      });
    }
    const allDays = [...series.values()].flatMap((s) => [...s.days.keys()]).sort();
    const days = daysBetween(allDays[0] as string, allDays[allDays.length - 1] as string);
    const out = withSlash(output);
    const outputs: string[] = [];
    for (const segment of SEGMENTS) {
      const target: string[] = [];
      const related: string[] = [];
      const metadata: string[] = [];
      const automl: string[] = ['item_id,timestamp,demand,discount,inventory,temperature,category,store'];
      for (const [id, s] of [...series].sort(([a], [b]) => (a < b ? -1 : 1))) {
        const mean = [...s.days.values()].reduce((n, d) => n + d.demand, 0) / days.length;
        if ((mean >= threshold ? 'popular' : 'slow') !== segment) continue;
        metadata.push(`${id},${s.category},${s.store}`);
        let last: Day | undefined;
        for (const day of days) {
          const d = s.days.get(day);
          const filled = d ?? { demand: 0, discount: 0, inventory: last?.inventory ?? 0, temperature: last?.temperature ?? 0 };
          last = filled;
          target.push(`${day},${id},${fmt(filled.demand)}`);
          related.push(`${day},${id},${fmt(filled.discount)},${fmt(filled.inventory)},${fmt(filled.temperature)}`);
          automl.push(`${id},${day},${fmt(filled.demand)},${fmt(filled.discount)},${fmt(filled.inventory)},${fmt(filled.temperature)},${s.category},${s.store}`);
        }
      }
      const files: [string, string[]][] = [
        ['target_time_series.csv', target],
        ['related_time_series.csv', related],
        ['item_metadata.csv', metadata],
        ['automl_training.csv', automl],
      ];
      for (const [name, rows] of files) {
        const uri = `${out}${segment}/${name}`;
        io.write(uri, rows.length > 0 ? `${rows.join('\n')}\n` : '');
        outputs.push(uri);
      }
    }
    return { rowsRead, bytesRead, outputs };
  },
};
