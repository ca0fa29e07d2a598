/**
 * `npm run bench -- [<name> ...] [--flag value ...]`: runs test/bench/<name>.ts, whose default export prints its
 * numbers and reads the flags. With no name, runs every benchmark in turn.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

async function main(): Promise<void> {
  const names = readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
    .map((f) => f.replace(/\.ts$/, ''));
  const args = process.argv.slice(2);
  // Names come first; from the first flag on, everything (a flag's value too) belongs to the benchmarks.
  const firstFlag = args.findIndex((a) => a.startsWith('-'));
  const wanted = firstFlag === -1 ? args : args.slice(0, firstFlag);
  const flags = firstFlag === -1 ? [] : args.slice(firstFlag);
  const unknown = wanted.filter((w) => !names.includes(w));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; known: ${names.join(', ')}\n`);
    process.exit(2);
  }
  for (const name of wanted.length > 0 ? wanted : names) {
    process.stdout.write(`\n== bench ${name} ==\n`);
    const mod = (await import(join(__dirname, `${name}.ts`))) as { default: (args: string[]) => Promise<void> };
    await mod.default(flags);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
