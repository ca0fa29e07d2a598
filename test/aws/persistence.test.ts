/**
 * `mlops emulator --state-dir`: what clients were told survives a kill -9. The emulator runs as its own process
 * (as a user runs it), is killed with SIGKILL right after answering, and a new one started on the same directory
 * must serve every resource byte for byte, go on with the jobs and owe the same events.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateAppCommand, CreateDomainCommand, CreateUserProfileCommand, DescribeAppCommand, DescribeDomainCommand, DescribeUserProfileCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { CreateFileSystemCommand, DescribeFileSystemsCommand, DescribeMountTargetsCommand, DescribeMountTargetSecurityGroupsCommand, EFSClient } from '@aws-sdk/client-efs';
import { AuthorizeSecurityGroupIngressCommand, DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateLocationEfsCommand, CreateTaskCommand, DataSyncClient, DescribeTaskExecutionCommand, ListLocationsCommand, ListTasksCommand, StartTaskExecutionCommand } from '@aws-sdk/client-datasync';
import type { EventEnvelope } from '../../local/aws/events';
import { clientConfig, control } from './harness';

const root = join(__dirname, '..', '..');
const cli = ['--import', 'tsx', join(root, 'clients/cli/main.ts')];

interface Running {
  child: ChildProcess;
  endpoint: string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];

async function startCli(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [...cli, 'emulator', '--port', '0', '--json', ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MLOPS_LOG_LEVEL: 'warn' },
  });
  children.push(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (line) resolve((JSON.parse(line) as { endpoint: string }).endpoint);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited early with ${code}: ${stderr}`)));
  });
  return { child, endpoint, exited };
}

async function kill9(r: Running): Promise<void> {
  r.child.kill('SIGKILL');
  await r.exited;
}

/** An events target that refuses deliveries (503) while `down`, and keeps the events it accepted. */
interface Target {
  url: string;
  down: boolean;
  accepted: EventEnvelope[];
  close(): Promise<void>;
}

async function startTarget(): Promise<Target> {
  const target = { down: true, accepted: [] as EventEnvelope[] } as Target;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (target.down) {
        res.writeHead(503).end();
        return;
      }
      target.accepted.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as EventEnvelope);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  target.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
  target.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return target;
}

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function clients(endpoint: string) {
  const config = clientConfig(endpoint, 1);
  return {
    s3: new S3Client({ ...config, forcePathStyle: true }),
    sm: new SageMakerClient(config),
    efs: new EFSClient(config),
    ec2: new EC2Client(config),
    ds: new DataSyncClient(config),
  };
}

async function advance(endpoint: string, ms: number): Promise<void> {
  expect((await control(endpoint, 'POST', '/clock', { advanceMs: ms })).status).toBe(200);
}

async function putFile(endpoint: string, fsId: string, path: string, data: Buffer): Promise<void> {
  const res = await control(endpoint, 'PUT', `/services/efs/file-systems/${fsId}/files?path=${encodeURIComponent(path)}`, { contentBase64: data.toString('base64'), uid: 200001, gid: 1001 });
  expect(res.status).toBe(200);
}

async function getFile(endpoint: string, fsId: string, path: string): Promise<Buffer | undefined> {
  const res = await control<{ contentBase64: string }>(endpoint, 'GET', `/services/efs/file-systems/${fsId}/files?path=${encodeURIComponent(path)}`);
  return res.status === 200 ? Buffer.from(res.body.contentBase64, 'base64') : undefined;
}

let stateDir: string;
let target: Target;

beforeEach(async () => {
  stateDir = mkdtempSync(join(tmpdir(), 'emulator-state-'));
  target = await startTarget();
});

afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await target.close();
  rmSync(stateDir, { recursive: true, force: true });
});

describe('mlops emulator --state-dir', () => {
  it('keeps every resource, job and owed event across a kill -9', async () => {
    const big = randomBytes(300_000);
    const small = randomBytes(100);
    const model = randomBytes(200_000);
    const notes = Buffer.from('alice notes\n');
    const separate = randomBytes(50_000);

    // ---- before the crash ----
    const a = await startCli(['--state-dir', stateDir, '--events-to', target.url]);
    let c = clients(a.endpoint);
    await c.s3.send(new CreateBucketCommand({ Bucket: 'durable-bucket' }));
    await c.s3.send(new PutObjectCommand({ Bucket: 'durable-bucket', Key: 'data/big.bin', Body: big, ContentType: 'application/octet-stream', Metadata: { owner: 'alice' } }));
    await c.s3.send(new PutObjectCommand({ Bucket: 'durable-bucket', Key: 'small.bin', Body: randomBytes(100) }));
    await c.s3.send(new PutObjectCommand({ Bucket: 'durable-bucket', Key: 'empty', Body: Buffer.alloc(0) }));
    await c.s3.send(new PutObjectCommand({ Bucket: 'durable-bucket', Key: 'deleted.bin', Body: randomBytes(2048) }));
    await c.s3.send(new DeleteObjectCommand({ Bucket: 'durable-bucket', Key: 'deleted.bin' }));
    await c.s3.send(new PutObjectCommand({ Bucket: 'durable-bucket', Key: 'small.bin', Body: small }));

    const { DomainId } = await c.sm.send(new CreateDomainCommand({ DomainName: 'durable', AuthMode: 'IAM', DefaultUserSettings: { ExecutionRole: 'arn:aws:iam::123456789012:role/studio' } }));
    const domainId = DomainId as string;
    await advance(a.endpoint, 5 * 60_000);
    const domain = await c.sm.send(new DescribeDomainCommand({ DomainId: domainId }));
    const homeFs = domain.HomeEfsFileSystemId as string;
    await c.sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice' }));
    await c.sm.send(new CreateAppCommand({ DomainId: domainId, UserProfileName: 'alice', AppType: 'JupyterServer', AppName: 'default' }));
    await advance(a.endpoint, 3 * 60_000);
    const alice = await c.sm.send(new DescribeUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice' }));
    expect(alice.Status).toBe('InService');
    const aliceUid = String(alice.HomeEfsFileSystemUid);

    const other = await c.efs.send(new CreateFileSystemCommand({ CreationToken: 'durable-fs' }));
    const otherFs = other.FileSystemId as string;
    await putFile(a.endpoint, otherFs, '/exports/blob.bin', separate);
    await putFile(a.endpoint, homeFs, `/${aliceUid}/data/model.bin`, model);
    await putFile(a.endpoint, homeFs, `/${aliceUid}/notes.txt`, notes);

    const mt = (await c.efs.send(new DescribeMountTargetsCommand({ FileSystemId: homeFs }))).MountTargets?.[0];
    const groups = (await c.efs.send(new DescribeMountTargetSecurityGroupsCommand({ MountTargetId: mt?.MountTargetId }))).SecurityGroups ?? [];
    for (const g of groups) {
      await c.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: g, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 2049, ToPort: 2049, UserIdGroupPairs: [{ GroupId: g }] }] }));
    }
    const fsArn = (await c.efs.send(new DescribeFileSystemsCommand({ FileSystemId: homeFs }))).FileSystems?.[0]?.FileSystemArn as string;
    const ec2Config = { SubnetArn: `arn:aws:ec2:us-east-1:123456789012:subnet/${mt?.SubnetId}`, SecurityGroupArns: groups.map((g) => `arn:aws:ec2:us-east-1:123456789012:security-group/${g}`) };
    const source = await c.ds.send(new CreateLocationEfsCommand({ EfsFilesystemArn: fsArn, Ec2Config: ec2Config, Subdirectory: `/${aliceUid}` }));
    const destination = await c.ds.send(new CreateLocationEfsCommand({ EfsFilesystemArn: fsArn, Ec2Config: ec2Config, Subdirectory: '/restore/alice' }));
    const task = await c.ds.send(new CreateTaskCommand({ SourceLocationArn: source.LocationArn, DestinationLocationArn: destination.LocationArn, Name: 'restore-alice' }));
    const { TaskExecutionArn } = await c.ds.send(new StartTaskExecutionCommand({ TaskArn: task.TaskArn }));
    const executionArn = TaskExecutionArn as string;
    // Into PREPARING: the transfer is planned but nothing is copied yet.
    await advance(a.endpoint, 70_000);
    expect((await c.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: executionArn }))).Status).toBe('PREPARING');

    // The target has refused every delivery so far: the CreateBucket call's event is owed.
    const owed = await control<{ events: { event: EventEnvelope; state: string }[] }>(a.endpoint, 'GET', '/events?source=aws.s3');
    const createBucketEvent = owed.body.events.find((e) => (e.event.detail as { eventName?: string }).eventName === 'CreateBucket');
    expect(createBucketEvent?.state).toBe('pending');
    expect(target.accepted).toEqual([]);

    // The last answer comes right before the kill: it was written before it was sent.
    const lastWord = randomBytes(4096);
    await c.s3.send(new PutObjectCommand({ Bucket: 'durable-bucket', Key: 'last-word', Body: lastWord }));
    await kill9(a);

    // ---- after the crash ----
    target.down = false;
    const b = await startCli(['--state-dir', stateDir, '--events-to', target.url]);
    c = clients(b.endpoint);

    // The event owed before the crash reaches the target, under the same id.
    await until(() => target.accepted.find((e) => e.id === createBucketEvent?.event.id), 'the owed CreateBucket event');

    // S3, byte for byte, with metadata.
    const keys = (await c.s3.send(new ListObjectsV2Command({ Bucket: 'durable-bucket' }))).Contents?.map((o) => o.Key);
    expect(keys).toEqual(['data/big.bin', 'empty', 'last-word', 'small.bin']);
    const gotLast = await c.s3.send(new GetObjectCommand({ Bucket: 'durable-bucket', Key: 'last-word' }));
    expect(Buffer.from(await gotLast.Body!.transformToByteArray()).equals(lastWord)).toBe(true);
    const got = await c.s3.send(new GetObjectCommand({ Bucket: 'durable-bucket', Key: 'data/big.bin' }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(big)).toBe(true);
    expect(got.ContentType).toBe('application/octet-stream');
    expect(got.Metadata).toEqual({ owner: 'alice' });
    const gotSmall = await c.s3.send(new GetObjectCommand({ Bucket: 'durable-bucket', Key: 'small.bin' }));
    expect(Buffer.from(await gotSmall.Body!.transformToByteArray()).equals(small)).toBe(true);
    expect((await c.s3.send(new HeadObjectCommand({ Bucket: 'durable-bucket', Key: 'empty' }))).ContentLength).toBe(0);

    // Studio: the domain, the profile and its app, still InService, on the same file system.
    expect((await c.sm.send(new DescribeDomainCommand({ DomainId: domainId }))).Status).toBe('InService');
    const aliceAfter = await c.sm.send(new DescribeUserProfileCommand({ DomainId: domainId, UserProfileName: 'alice' }));
    expect(aliceAfter.Status).toBe('InService');
    expect(String(aliceAfter.HomeEfsFileSystemUid)).toBe(aliceUid);
    expect((await c.sm.send(new DescribeAppCommand({ DomainId: domainId, UserProfileName: 'alice', AppType: 'JupyterServer', AppName: 'default' }))).Status).toBe('InService');

    // EFS files written through the control API, and the NFS rules.
    expect((await getFile(b.endpoint, otherFs, '/exports/blob.bin'))?.equals(separate)).toBe(true);
    expect((await getFile(b.endpoint, homeFs, `/${aliceUid}/data/model.bin`))?.equals(model)).toBe(true);
    const sgs = (await c.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: groups }))).SecurityGroups ?? [];
    for (const sg of sgs) expect(sg.IpPermissions?.some((p) => p.FromPort === 2049 && p.UserIdGroupPairs?.some((u) => u.GroupId === sg.GroupId))).toBe(true);
    expect((await c.ds.send(new ListLocationsCommand({}))).Locations?.map((l) => l.LocationArn).sort()).toEqual([source.LocationArn, destination.LocationArn].sort());
    expect((await c.ds.send(new ListTasksCommand({}))).Tasks?.map((t) => t.TaskArn)).toEqual([task.TaskArn]);

    // The execution started before the crash finishes after it, and its files are copied once.
    await advance(b.endpoint, 10 * 60_000);
    const done = await c.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: executionArn }));
    expect(done.Status).toBe('SUCCESS');
    expect(done.FilesTransferred).toBe(2);
    expect(done.BytesWritten).toBe(model.length + notes.length);
    expect((await getFile(b.endpoint, homeFs, '/restore/alice/data/model.bin'))?.equals(model)).toBe(true);
    expect((await getFile(b.endpoint, homeFs, '/restore/alice/notes.txt'))?.equals(notes)).toBe(true);
    // Each status change was published once (a redelivery would repeat an id, never add one).
    const states = await until(() => {
      const seen = target.accepted.filter((e) => e['detail-type'] === 'DataSync Task Execution State Change' && e.resources.includes(executionArn));
      return seen.some((e) => (e.detail as { State: string }).State === 'SUCCESS') ? seen : undefined;
    }, 'the SUCCESS state change');
    const idsByState = new Map<string, Set<string>>();
    for (const e of states) {
      const s = (e.detail as { State: string }).State;
      idsByState.set(s, (idsByState.get(s) ?? new Set()).add(e.id));
    }
    expect([...idsByState.keys()].sort()).toEqual(['LAUNCHING', 'PREPARING', 'QUEUED', 'SUCCESS', 'TRANSFERRING', 'VERIFYING']);
    for (const ids of idsByState.values()) expect(ids.size).toBe(1);

    // New resources do not collide with the old ones: a new profile gets the next home uid, new ids are new.
    await c.sm.send(new CreateUserProfileCommand({ DomainId: domainId, UserProfileName: 'bob' }));
    const bob = await c.sm.send(new DescribeUserProfileCommand({ DomainId: domainId, UserProfileName: 'bob' }));
    expect(String(bob.HomeEfsFileSystemUid)).not.toBe(aliceUid);
    const second = await c.efs.send(new CreateFileSystemCommand({ CreationToken: 'durable-fs-2' }));
    expect([homeFs, otherFs]).not.toContain(second.FileSystemId);
    const again = await c.ds.send(new StartTaskExecutionCommand({ TaskArn: task.TaskArn }));
    expect(again.TaskExecutionArn).not.toBe(executionArn);
    const dup = await control(b.endpoint, 'GET', '/services/efs/file-systems');
    expect((dup.body as { fileSystems: unknown[] }).fileSystems).toHaveLength(3);

    await kill9(b);
    // A third start on the same directory sees what the second one did.
    const third = await startCli(['--state-dir', stateDir]);
    c = clients(third.endpoint);
    expect(String((await c.sm.send(new DescribeUserProfileCommand({ DomainId: domainId, UserProfileName: 'bob' }))).HomeEfsFileSystemUid)).toBe(String(bob.HomeEfsFileSystemUid));
    // What the finished execution reported (written by a transition, not a request) is kept too.
    const reported = await c.ds.send(new DescribeTaskExecutionCommand({ TaskExecutionArn: executionArn }));
    expect([reported.Status, reported.FilesTransferred, reported.BytesWritten]).toEqual(['SUCCESS', 2, model.length + notes.length]);
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  });

  it('writes nothing for read-only requests', async () => {
    const a = await startCli(['--state-dir', stateDir]);
    const { s3 } = clients(a.endpoint);
    await s3.send(new CreateBucketCommand({ Bucket: 'read-only' }));
    const manifest = readFileSync(join(stateDir, 'manifest.json'), 'utf8');
    const units = readdirSync(join(stateDir, 'units')).sort();
    for (let i = 0; i < 5; i++) await s3.send(new ListObjectsV2Command({ Bucket: 'read-only' }));
    expect(readFileSync(join(stateDir, 'manifest.json'), 'utf8')).toBe(manifest);
    expect(readdirSync(join(stateDir, 'units')).sort()).toEqual(units);
    await kill9(a);
  });

  function startFails(): { status: number | null; lines: string[] } {
    const r = spawnSync(process.execPath, [...cli, 'emulator', '--port', '0', '--state-dir', stateDir], { cwd: root, encoding: 'utf8', timeout: 60_000, env: { ...process.env, MLOPS_LOG_LEVEL: 'warn' } });
    return { status: r.status, lines: r.stderr.split('\n').filter((l) => l.trim().length > 0 && !/NodeVersionSupportWarning|node >=22|upgrade to node|a\.co\/|trace-warnings|versions published|will require|To continue receiving/.test(l)) };
  }

  it.each([
    ['a damaged manifest', () => writeFileSync(join(stateDir, 'manifest.json'), '{"format": "mlops-aws-emulator-state", "vers'), 'manifest.json', 'not valid JSON'],
    ['an unknown format version', (m: Record<string, unknown>) => writeFileSync(join(stateDir, 'manifest.json'), JSON.stringify({ ...m, version: 99 })), 'manifest.json', 'format version 99'],
    ['a damaged unit', (m: Record<string, unknown>) => {
      const units = m.units as Record<string, string>;
      writeFileSync(join(stateDir, 'units', units['service:s3'] as string), 'garbage');
    }, 'service_s3', 'damaged'],
  ] as const)('refuses to start over %s, with one line naming the path', async (_what, damage, pathPart, reason) => {
    const a = await startCli(['--state-dir', stateDir]);
    await clients(a.endpoint).s3.send(new CreateBucketCommand({ Bucket: 'kept-bucket' }));
    await kill9(a);
    const manifest = JSON.parse(readFileSync(join(stateDir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
    damage(manifest);
    const damaged = readFileSync(join(stateDir, 'manifest.json'), 'utf8');
    const r = startFails();
    expect(r.status).not.toBe(0);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain(stateDir);
    expect(r.lines[0]).toContain(pathPart);
    expect(r.lines[0]).toContain(reason);
    expect(r.lines[0]).toContain('move the state directory aside');
    // Nothing was started over it.
    expect(readFileSync(join(stateDir, 'manifest.json'), 'utf8')).toBe(damaged);
  });

  it('refuses a directory that is not an emulator state directory', () => {
    writeFileSync(join(stateDir, 'notes.txt'), 'mine');
    const r = startFails();
    expect(r.status).not.toBe(0);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toContain('does not look like an emulator state directory');
    expect(readdirSync(stateDir)).toContain('notes.txt');
  });
});
