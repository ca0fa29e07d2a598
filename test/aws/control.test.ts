/** The control API under /_emulator/: health, journal, clock, reset, scenarios, and its answers to bad requests. */
import { afterEach, describe, expect, it } from 'vitest';
import { CreateBucketCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { RunningEmulator } from '../../local/aws';
import type { JournalEntry } from '../../local/aws/journal';
import { clientConfig, control, startTestEmulator } from './harness';
import { startEmulator } from '../../local/aws';

const running: RunningEmulator[] = [];
afterEach(async () => {
  for (const e of running.splice(0)) await e.close();
});

async function emulator(opts: Parameters<typeof startEmulator>[0] = {}): Promise<RunningEmulator> {
  const e = opts.port === undefined ? await startTestEmulator(opts) : await startEmulator(opts);
  running.push(e);
  return e;
}

const s3 = (endpoint: string) => new S3Client({ ...clientConfig(endpoint), forcePathStyle: true });

describe('control API', () => {
  it('GET /health lists the services and operations served', async () => {
    const emu = await emulator();
    const { status, body } = await control<{ ok: boolean; services: Record<string, { protocol: string; operations: string[] }> }>(emu.endpoint, 'GET', '/health');
    expect(status).toBe(200);
    expect(body.ok).toBe(true);
    expect(body.services.s3?.protocol).toBe('restXml');
    expect(body.services.s3?.operations).toEqual(
      expect.arrayContaining(['CreateBucket', 'PutObject', 'GetObject', 'HeadObject', 'ListObjectsV2', 'DeleteObject', 'DeleteObjects', 'CopyObject', 'CreateMultipartUpload', 'UploadPart', 'CompleteMultipartUpload', 'AbortMultipartUpload']),
    );
  });

  it('GET /journal filters by service and operation, and since a sequence number', async () => {
    const emu = await emulator();
    const client = s3(emu.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'journal' }));
    await client.send(new PutObjectCommand({ Bucket: 'journal', Key: 'a', Body: 'x' }));
    await client.send(new PutObjectCommand({ Bucket: 'journal', Key: 'b', Body: 'y' }));
    const all = (await control<{ entries: JournalEntry[] }>(emu.endpoint, 'GET', '/journal')).body.entries;
    expect(all.map((e) => e.operation)).toEqual(['CreateBucket', 'PutObject', 'PutObject']);
    const puts = (await control<{ entries: JournalEntry[] }>(emu.endpoint, 'GET', '/journal?service=s3&operation=PutObject')).body.entries;
    expect(puts).toHaveLength(2);
    expect(puts[0]).toMatchObject({ service: 's3', operation: 'PutObject', attempt: 1, status: 200 });
    const since = (await control<{ entries: JournalEntry[] }>(emu.endpoint, 'GET', `/journal?since=${puts[0]?.seq}`)).body.entries;
    expect(since.map((e) => e.seq)).toEqual([puts[1]?.seq]);
    expect((await control(emu.endpoint, 'GET', '/journal?since=abc')).status).toBe(400);
  });

  it('GET|POST /clock reads and advances emulated time; time scale multiplies real time', async () => {
    const emu = await emulator({ timeScale: 3600 });
    const a = (await control<{ epochMs: number; timeScale: number }>(emu.endpoint, 'GET', '/clock')).body;
    expect(a.timeScale).toBe(3600);
    await new Promise((r) => setTimeout(r, 100));
    const b = (await control<{ epochMs: number }>(emu.endpoint, 'GET', '/clock')).body;
    // 100 ms of real time is at least 6 emulated minutes.
    expect(b.epochMs - a.epochMs).toBeGreaterThanOrEqual(100 * 3600 * 0.9);
    const advanced = await control<{ epochMs: number; advancedMs: number }>(emu.endpoint, 'POST', '/clock', { advanceSeconds: 86_400 });
    expect(advanced.body.advancedMs).toBe(86_400_000);
    expect(advanced.body.epochMs - b.epochMs).toBeGreaterThanOrEqual(86_400_000);
    expect((await control(emu.endpoint, 'POST', '/clock', { advanceMs: -1 })).status).toBe(400);
    expect((await control(emu.endpoint, 'POST', '/clock', {})).status).toBe(400);
  });

  it('follows an injected virtual clock', async () => {
    let now = Date.parse('2030-05-01T12:00:00Z');
    const emu = await emulator({ clock: { now: () => now } });
    expect((await control<{ now: string }>(emu.endpoint, 'GET', '/clock')).body.now).toBe('2030-05-01T12:00:00.000Z');
    now += 3_600_000;
    expect((await control<{ now: string }>(emu.endpoint, 'GET', '/clock')).body.now).toBe('2030-05-01T13:00:00.000Z');
    const client = s3(emu.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'virtual' }));
    const { ListBucketsCommand } = await import('@aws-sdk/client-s3');
    const { Buckets } = await client.send(new ListBucketsCommand({}));
    expect(Buckets?.[0]?.CreationDate?.toISOString()).toBe('2030-05-01T13:00:00.000Z');
  });

  it('POST /reset forgets resources, faults and the journal', async () => {
    const emu = await emulator();
    const client = s3(emu.endpoint);
    await client.send(new CreateBucketCommand({ Bucket: 'forgotten' }));
    await control(emu.endpoint, 'POST', '/faults', { service: 's3', operation: 'GetObject', count: 5 });
    expect((await control(emu.endpoint, 'POST', '/reset')).status).toBe(200);
    expect((await control<{ faults: unknown[] }>(emu.endpoint, 'GET', '/faults')).body.faults).toEqual([]);
    expect((await control<{ entries: unknown[] }>(emu.endpoint, 'GET', '/journal')).body.entries).toEqual([]);
    await expect(client.send(new HeadBucketCommand({ Bucket: 'forgotten' }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('answers bad requests with 400 and unknown endpoints with 404', async () => {
    const emu = await emulator();
    const badJson = await fetch(`${emu.endpoint}/_emulator/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
    expect(badJson.status).toBe(400);
    expect((await control(emu.endpoint, 'POST', '/scenarios', { service: 's3' })).status).toBe(400);
    expect((await control(emu.endpoint, 'POST', '/scenarios', { service: 'nope', kind: 'k' })).status).toBe(400);
    const unknown = await control<{ message: string }>(emu.endpoint, 'GET', '/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.body.message).toContain('/_emulator/health');
    expect((await control(emu.endpoint, 'GET', '/services/nope/x')).status).toBe(404);
  });

  it('listens on the port asked for and refuses a port in use', async () => {
    const first = await emulator({ port: 0 });
    expect(first.endpoint).toBe(`http://127.0.0.1:${first.port}`);
    await expect(startEmulator({ port: first.port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('refuses what a web page in the browser could send: non-JSON bodies (415) and foreign origins (403), changing nothing', async () => {
    const emu = await emulator();
    const fault = JSON.stringify({ service: 's3', operation: 'CreateBucket', error: 'ThrottlingException' });
    const send = (method: string, path: string, headers: Record<string, string>, body?: string) => fetch(`${emu.endpoint}/_emulator${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    // The "simple" requests a page can send cross-origin without a preflight.
    expect((await send('POST', '/faults', { 'content-type': 'text/plain' }, fault)).status).toBe(415);
    expect((await send('POST', '/faults', { 'content-type': 'application/x-www-form-urlencoded' }, fault)).status).toBe(415);
    expect((await send('POST', '/faults', { 'content-type': 'multipart/form-data; boundary=x' }, fault)).status).toBe(415);
    expect((await send('POST', '/faults', {}, fault)).status).toBe(415);
    expect((await send('POST', '/reset', { 'content-type': 'text/plain' })).status).toBe(415);
    const foreign = await send('POST', '/faults', { 'content-type': 'application/json', origin: 'https://evil.example' }, fault);
    expect(foreign.status).toBe(403);
    expect(((await foreign.json()) as { message: string }).message).toMatch(/evil\.example/);
    expect((await send('POST', '/reset', { origin: 'null' })).status).toBe(403);
    expect((await send('GET', '/journal', { origin: `http://127.0.0.1:${emu.port + 1}` })).status).toBe(403);
    expect((await control<{ faults: unknown[] }>(emu.endpoint, 'GET', '/faults')).body.faults).toEqual([]);
    // Tools send no Origin; JSON (with a charset, or a +json type) is accepted, and so is a page of the emulator's own origin.
    expect((await send('POST', '/faults', { 'content-type': 'application/json; charset=utf-8' }, fault)).status).toBe(201);
    expect((await send('POST', '/faults', { 'content-type': 'application/merge-patch+json', origin: `http://127.0.0.1:${emu.port}` }, fault)).status).toBe(201);
    expect((await send('POST', '/reset', {})).status).toBe(200);
    expect((await send('GET', '/health', { origin: `http://localhost:${emu.port}` })).status).toBe(200);
  });
});
