/**
 * `npm run bench -- recovery [--profiles=N] [--cap=N]`: N profiles (default 150) recreated at once, end to end on the
 * embedded Temporal server (time skipping) and the AWS emulator. Prints total virtual time against the quota-bound
 * minimum computed from what the emulator measured (each new app's InService time, each DataSync execution's
 * duration; test/recovery/scale.ts), their ratio (target: at most 1.05), history events per restore (target: at
 * most 60), and wall time. The work is in test/recovery/scale.ts.
 */
import { startEndToEndStack } from '../recovery/harness';
import { recoverMany } from '../recovery/scale';

function flag(args: string[], name: string, fallback: number): number {
  const arg = args.find((a) => a.startsWith(`${name}=`));
  const v = arg ? Number(arg.slice(name.length + 1)) : NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
}

export default async function bench(args: string[]): Promise<void> {
  const profiles = flag(args, '--profiles', 150);
  const cap = flag(args, '--cap', 90);
  const { stack, gateway } = await startEndToEndStack({ dataSyncTaskCap: cap });
  try {
    const f = await recoverMany(stack, profiles, cap, (m) => process.stdout.write(`  ${m}\n`));
    const min = (ms: number) => `${(ms / 60_000).toFixed(2)} min`;
    const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    process.stdout.write(
      [
        `recoveries: ${f.succeeded}/${f.profiles} succeeded, files checked in every new home`,
        `virtual time: ${min(f.virtualMs)} from the first restore requested to the last ended`,
        `quota-bound minimum: ${min(f.quotaBoundMinimumMs)} (emulator-measured: homes ready from +${sec(f.measured.firstHomeReadyMs)} to +${sec(f.measured.lastHomeReadyMs)}, then ${f.profiles} executions of median ${sec(f.measured.medianExecutionMs)} through ${f.cap} slots)`,
        `ratio: ${(f.virtualMs / f.quotaBoundMinimumMs).toFixed(3)} (target <= 1.05)`,
        `history events per restore: max ${f.eventsPerRestore.max}, mean ${f.eventsPerRestore.mean.toFixed(1)} (target <= 60)`,
        `most live DataSync tasks: ${f.maxLiveTasks} (cap ${f.cap}); left behind: ${f.leftoverTasks} tasks, ${f.leftoverLocations} locations`,
        `wall time: ${(f.wallMs / 1000).toFixed(1)} s from the recreations to the last restore`,
        ...(f.failures.length > 0 ? [`failures: ${f.failures.join('; ')}`] : []),
        '',
      ].join('\n'),
    );
  } finally {
    await stack.close();
    await gateway.close();
  }
}
