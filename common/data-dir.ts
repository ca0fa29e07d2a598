/**
 * The directory where `mlops start` keeps the embedded server's and emulator's state. One process at a time may use
 * it: two writers would interleave their records and corrupt both, so a lock file holds the owner's pid.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { takePidLock, type PidLockResult } from '../local/pid-lock';

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

/** Creates the directory if needed and takes its lock; a lock left by a crashed process is taken over. */
export function claimDataDir(path: string): DataDir {
  try {
    mkdirSync(path, { recursive: true });
  } catch (err) {
    throw new DataDirError(`cannot create the data directory ${path} (${(err as Error).message}); set MLOPS_DATA_DIR to a writable directory`);
  }
  const lockFile = join(path, 'lock');
  let lock: PidLockResult;
  try {
    lock = takePidLock(lockFile);
  } catch (err) {
    throw new DataDirError(`cannot take the lock ${lockFile} (${(err as Error).message}); set MLOPS_DATA_DIR to a writable directory`);
  }
  if (!lock.taken) {
    throw new DataDirError(
      `another mlops process (${lock.holder ? `pid ${lock.holder}` : 'starting up'}) is using the data directory ${path}; stop it, or give this one its own MLOPS_DATA_DIR (or --in-memory)`,
    );
  }
  const { release } = lock;
  return {
    path,
    temporalFile: join(path, 'temporal-server.state'),
    emulatorDir: join(path, 'aws-emulator'),
    release,
  };
}
