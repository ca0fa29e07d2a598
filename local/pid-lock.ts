/**
 * One writer per state file or directory: a lock file holding the owner's pid, created exclusively. A lock whose
 * process is gone (kill -9) is taken over; so is one naming our own pid that this process does not hold, which is a
 * previous run's (a container restarts as pid 1 again).
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';

/** How long a lock file without a pid counts as being written by its creator rather than left by a crash. */
const EMPTY_LOCK_GRACE_MS = 5_000;

/** Lock files this process holds. */
const heldHere = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export type PidLockResult =
  | { taken: true; release(): void }
  /** `holder`: the pid of the live owner (our own when another part of this process holds it; 0 while it is being written). */
  | { taken: false; holder: number };

/** Takes the lock at `lockPath`; errors other than "someone holds it" (no permission, no directory) are thrown. */
export function takePidLock(lockPath: string): PidLockResult {
  const path = resolve(lockPath);
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      heldHere.add(path);
      let released = false;
      return {
        taken: true,
        release() {
          if (released) return;
          released = true;
          heldHere.delete(path);
          rmSync(path, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const text = readFileSync(path, 'utf8').trim();
    const owner = Number(text);
    if (!/^\d+$/.test(text) || owner <= 0) {
      // Another process created it and is about to write its pid: not stale unless it stayed empty for a while.
      if (Date.now() - statSync(path).mtimeMs < EMPTY_LOCK_GRACE_MS) return { taken: false, holder: 0 };
    } else if (owner === process.pid ? heldHere.has(path) : isAlive(owner)) {
      return { taken: false, holder: owner };
    }
    rmSync(path, { force: true });
  }
}
