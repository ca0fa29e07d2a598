/**
 * The directory where `mlops start` keeps the embedded server's and emulator's state. One process at a time may use
 * it: two writers would interleave their records and corrupt both, so a lock file holds the owner's pid.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Raised when the directory cannot be used; the CLI prints the message as one line and exits 2. */
export class DataDirError extends Error {
  override readonly name = 'DataDirError';
}

export interface DataDir {
  path: string;
  /** Where the embedded Temporal server keeps its runs. */
  temporalFile: string;
  /** Where the AWS emulator keeps its resources. */
  emulatorDir: string;
  release(): void;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates the directory if needed and takes its lock; a lock left by a crashed process is taken over. */
export function claimDataDir(path: string): DataDir {
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    throw new DataDirError(`cannot create the data directory ${path} (${(err as Error).message}); set MLOPS_DATA_DIR to a writable directory`);
  }
  const lockFile = join(path, 'lock');
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lockFile, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new DataDirError(`cannot write ${lockFile} (${(err as Error).message}); set MLOPS_DATA_DIR to a writable directory`);
      }
      const owner = Number(readFileSync(lockFile, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
        throw new DataDirError(
          `another mlops process (pid ${owner}) is using the data directory ${path}; stop it, or give this one its own MLOPS_DATA_DIR (or --in-memory)`,
        );
      }
      if (attempt > 0) throw new DataDirError(`cannot take the lock ${lockFile}; remove it if no mlops process is running`);
      rmSync(lockFile, { force: true }); // left by a process that crashed
    }
  }
  let released = false;
  return {
    path,
    temporalFile: join(path, 'temporal-server.state'),
    emulatorDir: join(path, 'aws-emulator'),
    release() {
      if (released) return;
      released = true;
      rmSync(lockFile, { force: true });
    },
  };
}
