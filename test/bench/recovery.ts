/**
 * `npm run bench -- recovery [--profiles=N] [--cap=N]`: N profiles (default 150) recreated at once, end to end on the
 * embedded Temporal server (time skipping) and the AWS emulator. Prints total virtual time against the quota-bound
 * minimum, history events per restore (target: at most 60), and wall time. The work is in test/recovery/scale.ts.
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
    const min = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;
    process.stdout.write(
      [
        `recoveries: ${f.succeeded}/${f.profiles} succeeded, files checked in every new home`,
        `virtual time: ${min(f.virtualMs)} (quota-bound minimum ${min(f.quotaBoundMinimumMs)}: ceil(${f.profiles}/${f.cap}) waves of the median copy + the first app's start; ratio ${(f.virtualMs / f.quotaBoundMinimumMs).toFixed(2)})`,
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
