/**
 * `mlops features ingest --wait` as a user runs it, in a child process: on a terminal (a pseudo-terminal from
 * util-linux `script`, 80 columns) it draws a live bar whose frames show rows, rows/s, failures and time left
 * changing; piped, or with --json, it draws none. The run is slowed by a small write capacity on a frozen emulator
 * clock that moves only while the writers are throttled, so it lasts long enough for many frames on any machine.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import type { IngestProgress } from '../../workflows/features/model';
import { control } from '../aws/harness';
import { prepareGroup, syntheticRows, transactionsCsv, upload, type FeaturesStack } from './harness';
import { frozenClockStack, paceClockByThrottling } from './frozen-clock';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'clients', 'cli', 'main.ts');

let stack: FeaturesStack;
frozenClockStack((s) => (stack = s));

/** Runs the CLI from source, on a pseudo-terminal (stdout and stderr both on it) or with plain pipes. */
function mlops(args: string[], opts: { tty: boolean }): Promise<{ code: number | null; out: string; err: string }> {
  const node = [process.execPath, '--import', 'tsx', CLI, ...args];
  const [cmd, ...argv] = opts.tty ? ['script', '-q', '-e', '-c', `stty cols 80 rows 24; exec ${node.map((a) => `'${a}'`).join(' ')}`, '/dev/null'] : node;
  const child = spawn(cmd!, argv, {
    cwd: ROOT,
    env: { ...process.env, TEMPORAL_ADDRESS: stack.address, AWS_ENDPOINT_URL: stack.emulator.endpoint, MLOPS_AWS: 'emulator', MLOPS_LOG_LEVEL: 'silent', NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

interface Frame {
  text: string;
  done: number;
  total: number;
  rate: number;
  failed: number;
  left: string;
}

const ESC = '\u001b';

/** The bar's frames: each redraw starts at column 1 (CSI 1 G) or a carriage return. */
function frames(output: string): Frame[] {
  const out: Frame[] = [];
  for (const raw of output.replaceAll(`${ESC}[1G`, '\r').split('\r')) {
    const text = stripVTControlCharacters(raw).replace(/\n[\s\S]*$/, '');
    const m = /^(\d+)\/(\d+) rows \| (\d+) rows\/s \| (\d+) failed \| (\S+) left \| /.exec(text);
    if (m) out.push({ text, done: Number(m[1]), total: Number(m[2]), rate: Number(m[3]), failed: Number(m[4]), left: m[5]! });
  }
  return out;
}

const distinct = <T>(xs: T[]) => new Set(xs).size;
/** Escape sequences or the bar's blocks. */
const drawsBar = (s: string) => s.includes(ESC) || /[░█]/.test(s);

describe('mlops features ingest --wait', () => {
  it('on a terminal draws a live bar: rows, rows/s, failures and time left change from frame to frame', async () => {
    const ROWS = 600;
    await prepareGroup(stack, 'tx-bar', { extra: { ThroughputConfig: { ThroughputMode: 'Provisioned', ProvisionedReadCapacityUnits: 1, ProvisionedWriteCapacityUnits: 25 } } });
    // One rejected row in each 60-row chunk: the failures grow as the chunks finish.
    const rejected = Array.from({ length: 10 }, (_, i) => `T${String(i * 60 + 30).padStart(8, '0')}`);
    await control(stack.emulator.endpoint, 'POST', '/services/sagemaker-featurestore-runtime/rejections', { featureGroupName: 'tx-bar', featureName: 'tid', values: rejected });
    const source = await upload(stack, 'bar/tx.csv', transactionsCsv(syntheticRows(ROWS)));

    const ended = new AbortController();
    // At most 25 rows per emulated second and one emulated second per 200 ms: at least 4.6 s of real time.
    const pacing = paceClockByThrottling(stack, 'tx-bar', { signal: ended.signal, minIntervalMs: 200 });
    const run = await mlops(['features', 'ingest', '--group', 'tx-bar', '--source', source, '--run-id', 'bar-1', '--ledger', 's3://ledger/runs', '--chunk-rows', '60', '--window', '2', '--wait'], { tty: true }).finally(() =>
      ended.abort(),
    );
    const paced = await pacing;

    expect(paced.seconds).toBeGreaterThanOrEqual(ROWS / 25 - 1);
    const fs = frames(run.out);
    expect(fs.length, run.out).toBeGreaterThanOrEqual(4);
    // The figures of every frame fit an 80-column terminal (the bar after them may be cut).
    for (const f of fs) expect(f.text.indexOf(' left | ') + ' left | '.length).toBeLessThanOrEqual(80);
    expect(fs.every((f) => f.total === ROWS || f.total === 1)).toBe(true);
    // Rows and failures only grow, and change along the way; the rate and the time left move with them.
    for (let i = 1; i < fs.length; i++) {
      expect(fs[i]!.done).toBeGreaterThanOrEqual(fs[i - 1]!.done);
      expect(fs[i]!.failed).toBeGreaterThanOrEqual(fs[i - 1]!.failed);
    }
    const writing = fs.filter((f) => f.done > 0 && f.done < ROWS);
    expect(distinct(writing.map((f) => f.done))).toBeGreaterThanOrEqual(3);
    expect(distinct(writing.map((f) => f.failed))).toBeGreaterThanOrEqual(2);
    expect(distinct(writing.map((f) => f.rate))).toBeGreaterThanOrEqual(2);
    expect(distinct(writing.map((f) => f.left).filter((l) => l !== '?'))).toBeGreaterThanOrEqual(2);
    expect(fs.at(-1)).toMatchObject({ done: ROWS, total: ROWS, failed: 10, left: '0s' });
    expect(fs.at(-1)!.text).toContain('completed');
    // Then the summary; a run with failures exits 1.
    expect(run.out).toContain('590 written, 10 failed');
    expect(run.code).toBe(1);
  }, 120_000);

  it('piped, or with --json even on a terminal, draws no bar', async () => {
    await prepareGroup(stack, 'tx-nobar');
    const source = await upload(stack, 'nobar/tx.csv', transactionsCsv(syntheticRows(300)));
    const args = (run: string) => ['features', 'ingest', '--group', 'tx-nobar', '--source', source, '--run-id', run, '--ledger', 's3://ledger/runs', '--chunk-rows', '100', '--wait'];

    const piped = await mlops(args('nobar-1'), { tty: false });
    expect(piped.code, piped.err).toBe(0);
    expect(drawsBar(piped.err)).toBe(false);
    expect(drawsBar(piped.out)).toBe(false);
    expect(piped.out).toContain('300 written, 0 failed');

    const json = await mlops([...args('nobar-2'), '--json'], { tty: true });
    expect(json.code, json.out).toBe(0);
    expect(drawsBar(json.out)).toBe(false);
    expect(JSON.parse(json.out) as IngestProgress).toMatchObject({ runId: 'nobar-2', phase: 'completed', rowsWritten: 300, rowsFailed: 0 });
  }, 120_000);
});
