/**
 * The state directory's own promises, in process: a write a crash interrupted leaves the previous state; one
 * directory serves one emulator; the clock, scenarios and a reset are kept; a state that could not come back is
 * refused when it is made, not discovered after a crash.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateFileSystemCommand, EFSClient } from '@aws-sdk/client-efs';
import { CreateSecurityGroupCommand, EC2Client } from '@aws-sdk/client-ec2';
import { defineService, StateDirError, type RunningEmulator } from '../../local/aws';
import { allServices } from '../../local/aws/services';
import { clientConfig, control, startTestEmulator } from './harness';

let dir: string;
const open: RunningEmulator[] = [];

async function start(opts: Parameters<typeof startTestEmulator>[0] = {}): Promise<RunningEmulator> {
  const emu = await startTestEmulator({ stateDir: dir, ...opts });
  open.push(emu);
  return emu;
}

async function stop(emu: RunningEmulator): Promise<void> {
  open.splice(open.indexOf(emu), 1);
  await emu.close();
}

function s3(emu: RunningEmulator): S3Client {
  return new S3Client({ ...clientConfig(emu.endpoint), forcePathStyle: true });
}

async function bucketNames(emu: RunningEmulator): Promise<string[]> {
  return ((await s3(emu).send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name as string).sort();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'emulator-store-'));
});

afterEach(async () => {
  for (const emu of open.splice(0)) await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('emulator state directory', () => {
  it('ignores what an interrupted write left behind and keeps the previous state', async () => {
    const a = await start();
    await s3(a).send(new CreateBucketCommand({ Bucket: 'before-crash' }));
    await stop(a);
    // What a crash between writing units and renaming the manifest leaves.
    writeFileSync(join(dir, 'units', 'service_s3.999.bin'), 'half written');
    writeFileSync(join(dir, 'manifest.json.tmp'), '{"format":');
    const b = await start();
    expect(await bucketNames(b)).toEqual(['before-crash']);
    expect(readdirSync(join(dir, 'units'))).not.toContain('service_s3.999.bin');
    expect(readdirSync(dir)).not.toContain('manifest.json.tmp');
  });

  it('serves one emulator at a time', async () => {
    await start();
    const refused = await startTestEmulator({ stateDir: dir }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(StateDirError);
    expect((refused as Error).message).toContain('another emulator');
  });

  it('takes over a lock left by a killed run, even one that had the same pid (a restarted container)', async () => {
    const a = await start();
    await s3(a).send(new CreateBucketCommand({ Bucket: 'locked-in' }));
    await stop(a);
    writeFileSync(join(dir, 'lock'), String(process.pid));
    expect(await bucketNames(await start())).toEqual(['locked-in']);
  });

  it('keeps the advanced clock, the scenarios and a reset', async () => {
    const a = await start();
    await s3(a).send(new CreateBucketCommand({ Bucket: 'forgotten' }));
    await control(a.endpoint, 'POST', '/clock', { advanceSeconds: 3600 });
    await control(a.endpoint, 'POST', '/scenarios', { service: 'datasync', kind: 'task-execution', resource: '*', durationsMs: { TRANSFERRING: 5000 } });
    await control(a.endpoint, 'POST', '/reset');
    await s3(a).send(new CreateBucketCommand({ Bucket: 'after-reset' }));
    await control(a.endpoint, 'POST', '/scenarios', { service: 'sagemaker', kind: 'app', resource: '*', durationsMs: { Pending: 1000 } });
    const before = (await control<{ epochMs: number }>(a.endpoint, 'GET', '/clock')).body.epochMs;
    await stop(a);
    const b = await start();
    expect(await bucketNames(b)).toEqual(['after-reset']);
    expect((await control<{ epochMs: number }>(b.endpoint, 'GET', '/clock')).body.epochMs).toBeGreaterThanOrEqual(before);
    expect((await control<{ scenarios: { service: string }[] }>(b.endpoint, 'GET', '/scenarios')).body.scenarios.map((r) => r.service)).toEqual(['sagemaker']);
  });

  it('writes what changed in a file tree, not the whole tree, and compacts', async () => {
    const emu = await start();
    const config = clientConfig(emu.endpoint);
    const { FileSystemId } = await new EFSClient(config).send(new CreateFileSystemCommand({ CreationToken: 'tree' }));
    const write = (path: string) => control(emu.endpoint, 'PUT', `/services/efs/file-systems/${FileSystemId}/files?path=${path}`, { text: 'x'.repeat(100) });
    for (let i = 0; i < 20; i++) await write(`/small-${i}.txt`);
    const parts = () => readdirSync(join(dir, 'units')).filter((f) => f.startsWith('part-')).sort();
    const before = parts();
    // A change to the same shared world (EC2) that leaves the files alone writes no file-tree file.
    await new EC2Client(config).send(new CreateSecurityGroupCommand({ GroupName: 'unrelated', Description: 'd', VpcId: 'vpc-0e1d2c3b4a5f60718' }));
    expect(parts()).toEqual(before);
    // One more file: one small change file, not the 21 files' worth of the tree.
    await write('/one-more.txt');
    const added = parts().filter((f) => !before.includes(f));
    expect(added).toHaveLength(1);
    expect(statSync(join(dir, 'units', added[0] as string)).size).toBeLessThan(1024);
    // Many more: the change files are folded into a new base now and then.
    for (let i = 0; i < 150; i++) await write(`/more-${i}.txt`);
    expect(parts().length).toBeLessThan(100);
    await stop(emu);
    const again = await start();
    const tree = await control<{ entries: { path: string }[] }>(again.endpoint, 'GET', `/services/efs/file-systems/${FileSystemId}/tree`);
    expect(tree.body.entries.filter((e) => e.path.endsWith('.txt'))).toHaveLength(171);
  });

  it('refuses, in the request that makes it, a state holding an undeclared class', async () => {
    class Opaque {
      constructor(readonly value: number) {}
    }
    const bad = defineService<{ things: Opaque[] }>({
      name: 'opaque',
      protocol: 'awsJson1_1',
      targetPrefix: 'Opaque',
      createState: () => ({ things: [] }),
      operations: {
        PutThing: { handler: (_input, ctx) => ctx.state.things.push(new Opaque(1)) && {} },
      },
    });
    const emu = await start({ services: [...allServices, bad] });
    const manifestBefore = readFileSync(join(dir, 'manifest.json'), 'utf8');
    const res = await fetch(emu.endpoint, { method: 'POST', headers: { 'x-amz-target': 'Opaque.PutThing', 'content-type': 'application/x-amz-json-1.1' }, body: '{}' });
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('Opaque');
    expect(readFileSync(join(dir, 'manifest.json'), 'utf8')).toBe(manifestBefore);
  });
});
