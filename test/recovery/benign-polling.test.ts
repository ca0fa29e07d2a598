/**
 * Expected "not yet" polling (home not opened, transfer running, waiting for a slot) is logged by the SDK's activity
 * worker at debug level, as benign; a real failure still logs as a warning. Runs the real activities in the SDK's
 * activity environment with a capturing logger.
 */
import { describe, expect, it } from 'vitest';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { LogLevel, LogMetadata, Logger } from '@temporalio/common';
import { createRecoveryActivities } from '../../activities/recovery/activities';

function capture() {
  const lines: { level: LogLevel; message: string; meta?: LogMetadata }[] = [];
  const at = (level: LogLevel) => (message: string, meta?: LogMetadata) => void lines.push({ level, message, ...(meta ? { meta } : {}) });
  const logger: Logger = { log: (level, message, meta) => void lines.push({ level, message, ...(meta ? { meta } : {}) }), trace: at('TRACE'), debug: at('DEBUG'), info: at('INFO'), warn: at('WARN'), error: at('ERROR') };
  return { logger, lines };
}

/** AWS answers by command: a profile with its home id but no running app, a transfer in progress. */
const fakeAws = (status: string) =>
  ({
    send: async (command: { constructor: { name: string } }) => {
      switch (command.constructor.name) {
        case 'DescribeUserProfileCommand':
          return { HomeEfsFileSystemUid: '200001' };
        case 'ListAppsCommand':
          return { Apps: [{ Status: 'Pending' }] };
        case 'DescribeTaskExecutionCommand':
          return { Status: status, Result: { ErrorCode: 'injected', ErrorDetail: 'disk full' } };
        default:
          throw new Error(`unexpected ${command.constructor.name}`);
      }
    },
  }) as never;

function activities(status = 'TRANSFERRING') {
  return createRecoveryActivities({ sagemaker: fakeAws(status), datasync: fakeAws(status), datasyncCreates: fakeAws(status), efs: null as never, ec2: null as never, temporal: () => null as never });
}

const home = { domainId: 'd-abcdefghijkl', efsId: 'fs-1', homeUid: '200001' };
const key = { domainName: 'research', kind: 'user-profile' as const, name: 'alice' };

describe('"not yet" polling', () => {
  it('home not ready, transfer in progress and waiting for a slot are logged as benign debug lines, not warnings', async () => {
    const acts = activities();
    for (const [what, run] of [
      ['home not ready', (a: typeof acts) => a.waitForHomeDirectory(key, home)],
      ['transfer in progress', (a: typeof acts) => a.followTransfer('arn:aws:datasync:us-east-1:123456789012:task/task-1/execution/exec-1')],
      ['waiting for a slot', (a: typeof acts) => a.keepSlotRequestAlive('recovery/research/user-profile/alice/restore/1')],
    ] as const) {
      const { logger, lines } = capture();
      const env = new MockActivityEnvironment({}, { logger });
      await expect(env.run(run, acts), what).rejects.toThrow();
      const failed = lines.filter((l) => l.message === 'Activity failed');
      expect(failed.map((l) => l.level), what).toEqual(['DEBUG']);
      expect(lines.filter((l) => l.level === 'WARN' || l.level === 'ERROR'), what).toEqual([]);
    }
  });

  it('a transfer that failed is still a warning', async () => {
    const { logger, lines } = capture();
    await expect(new MockActivityEnvironment({}, { logger }).run(activities('ERROR').followTransfer, 'arn:exec')).rejects.toThrow(/disk full/);
    expect(lines.filter((l) => l.message === 'Activity failed').map((l) => l.level)).toEqual(['WARN']);
  });
});
