/**
 * `bin/temporal-test-server <port> [--enable-time-skipping] [--retention D] [--ip IP]`: what
 * TestWorkflowEnvironment.createTimeSkipping spawns. Serves WorkflowService + TestService with time skipping that
 * starts locked, as Temporal's own test server does unless given --enable-time-skipping (the SDK's test client
 * unlocks it while it awaits a workflow result, and env.sleep() unlocks it while sleeping).
 */
import { startTemporalServer } from './index';
import { parseDurationFlag } from './duration-flag';
import { keepServingOnUncaughtErrors } from './crash-guard';
import { defaultCustomSearchAttributes } from './visibility/search-attributes';

export async function main(argv: string[]): Promise<void> {
  const args = argv.slice(2);
  const port = Number(args[0]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('usage: temporal-test-server <port> [--enable-time-skipping] [--retention DURATION] [--ip IP]\n');
    process.exitCode = 2;
    return;
  }
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  keepServingOnUncaughtErrors((err) => process.stderr.write(`temporal-test-server: internal error: ${err instanceof Error ? err.stack : String(err)}\n`));
  const retention = flag('--retention');
  const server = await startTemporalServer({
    port,
    ip: flag('--ip') ?? '127.0.0.1',
    timeSkipping: true,
    startLocked: !args.some((a) => a.toLowerCase() === '--enable-time-skipping'),
    testService: true,
    retentionMs: retention ? parseDurationFlag(retention) : undefined,
    customSearchAttributes: defaultCustomSearchAttributes,
  });
  process.stdout.write(`temporal test server listening on ${server.address}\n`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
