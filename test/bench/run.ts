/**
 * `npm run bench -- <name> [...]`: runs test/bench/<name>.ts, whose default export prints its numbers.
 * With no name, runs every benchmark in turn.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

async function main(): Promise<void> {
  const names = readdirSync(__dirname)
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
    .map((f) => f.replace(/\.ts$/, ''));
  const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
  const unknown = wanted.filter((w) => !names.includes(w));
  if (unknown.length > 0) {
    process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; known: ${names.join(', ')}\n`);
    process.exit(2);
  }
  for (const name of wanted.length > 0 ? wanted : names) {
    process.stdout.write(`\n== bench ${name} ==\n`);
    const mod = (await import(join(__dirname, `${name}.ts`))) as { default: (args: string[]) => Promise<void> };
    await mod.default(process.argv.slice(3));
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
