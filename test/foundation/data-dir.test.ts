import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimDataDir, DataDirError } from '../../common/data-dir';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'mlops-data-')), 'state');

describe('the data directory of mlops start', () => {
  it('is created on first use and its lock is gone after release', () => {
    const path = fresh();
    const dir = claimDataDir(path);
    expect(existsSync(join(path, 'lock'))).toBe(true);
    expect(dir.temporalFile.startsWith(path)).toBe(true);
    expect(dir.emulatorDir.startsWith(path)).toBe(true);
    dir.release();
    expect(existsSync(join(path, 'lock'))).toBe(false);
    claimDataDir(path).release(); // usable again
  });

  it('refuses a directory another live process holds, naming its pid and the way out', async () => {
    const path = fresh();
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      await new Promise((r) => other.once('spawn', r));
      claimDataDir(path).release();
      writeFileSync(join(path, 'lock'), `${other.pid}\n`);
      let error: unknown;
      try {
        claimDataDir(path);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DataDirError);
      expect((error as Error).message).toContain(`pid ${other.pid}`);
      expect((error as Error).message).toMatch(/MLOPS_DATA_DIR/);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over the lock a crashed process left behind', async () => {
    const path = fresh();
    const gone = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await new Promise((r) => gone.once('exit', r));
    claimDataDir(path).release();
    writeFileSync(join(path, 'lock'), `${gone.pid}\n`);
    const dir = claimDataDir(path);
    expect(readFileSync(join(path, 'lock'), 'utf8').trim()).toBe(String(process.pid));
    dir.release();
  });

  it('counts a lock still without a pid as being written, unless it stayed so for seconds', () => {
    const path = fresh();
    claimDataDir(path).release();
    writeFileSync(join(path, 'lock'), '');
    expect(() => claimDataDir(path)).toThrow(/another mlops process \(starting up\)/);
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(path, 'lock'), old, old);
    claimDataDir(path).release();
  });
});
