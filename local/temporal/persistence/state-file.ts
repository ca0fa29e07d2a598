/**
 * The state file's format and its reading and writing. Line 1 is a header; every other line is one batch: the
 * changes one gRPC call or one timer made (new history events, the new mutable state of each run it touched,
 * namespaces, the virtual clock), written in one write so a crash leaves either all of a batch or a torn last line.
 * A torn last line is dropped; anything else that does not read stops the server with a StateFileError.
 */
import { closeSync, existsSync, fstatSync, ftruncateSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { HistoryEvent } from '../proto-types';
import type { RunConfig } from '../workflow-run';
import type { SearchAttributeType } from '../visibility/types';
import { takePidLock, type PidLockResult } from '../../pid-lock';
import { decodeRecord, encodeRecord } from './record-codec';
import type { SavedRun, SavedRunState } from './run-state';
import type { ScheduleRecord } from '../schedules/scheduler';

const HEADER = { mlopsEmbeddedTemporalState: 1 };
const HEADER_LINE = encodeRecord(HEADER);
const SQLITE_MAGIC = 'SQLite format 3\u0000';

export interface SavedNamespace {
  name: string;
  id: string;
  retentionMs: number;
  description: string;
  ownerEmail: string;
  data: Record<string, string>;
  customSearchAttributes: Record<string, SearchAttributeType>;
}

/** What changed about one run: created (first batch only), new events from `firstEventId`, its state now. */
export interface RunChange {
  runId: string;
  created?: { config: RunConfig; startTime: number };
  firstEventId?: number;
  events?: HistoryEvent[];
  state: SavedRunState;
}

export interface Batch {
  namespaces?: SavedNamespace[];
  clockOffsetMs?: number;
  runs?: RunChange[];
  schedules?: ScheduleChange[];
}

/** A schedule's whole record as it is now, or none when it was deleted. */
export interface ScheduleChange {
  namespace: string;
  scheduleId: string;
  record?: ScheduleRecord;
}

export interface LoadedState {
  namespaces: SavedNamespace[];
  clockOffsetMs: number;
  /** in the order the runs were created */
  runs: Map<string, SavedRun>;
  /** a crash cut the last write short; that batch was dropped */
  tornTail: boolean;
  /** by namespace and schedule id */
  schedules: Map<string, ScheduleRecord>;
}

export class StateFileError extends Error {
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`cannot use ${path} as the embedded Temporal server's state file: ${reason}. Nothing was changed; move the file away (or name another file) to start with empty state, or stop the process using it.`);
    this.name = 'StateFileError';
  }
}

/** Reads the file; undefined when it does not exist or is empty (a new state file). */
export function readStateFile(path: string): LoadedState | undefined {
  if (!existsSync(path)) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new StateFileError(path, `it cannot be read (${err instanceof Error ? err.message : String(err)})`);
  }
  if (text.startsWith(SQLITE_MAGIC)) throw new StateFileError(path, 'it is a SQLite database (the real Temporal CLI\'s state file?), not a state file of this server');
  const end = text.lastIndexOf('\n');
  // Every record ends with a newline: whatever follows the last one is a write a crash cut short.
  const tornTail = end + 1 < text.length;
  const lines = end < 0 ? [] : text.slice(0, end).split('\n');
  if (lines.length === 0) {
    if (text.length === 0 || HEADER_LINE.startsWith(text)) return undefined;
    throw new StateFileError(path, 'it is not a state file of this server (no header line)');
  }
  if (`${lines[0]}\n` !== HEADER_LINE) throw new StateFileError(path, 'it is not a state file of this server (its first line is not the header this server writes)');
  const state: LoadedState = { namespaces: [], clockOffsetMs: 0, runs: new Map(), tornTail, schedules: new Map() };
  for (let i = 1; i < lines.length; i++) {
    let batch: Batch;
    try {
      batch = decodeRecord(lines[i]) as Batch;
    } catch {
      throw new StateFileError(path, `line ${i + 1} is not a readable record (the file is damaged)`);
    }
    applyBatch(path, state, batch, i + 1);
  }
  return state;
}

function applyBatch(path: string, state: LoadedState, batch: Batch, line: number): void {
  if (!batch || typeof batch !== 'object') throw new StateFileError(path, `line ${line} is not a record of this server`);
  if (batch.namespaces) state.namespaces = batch.namespaces;
  if (typeof batch.clockOffsetMs === 'number') state.clockOffsetMs = batch.clockOffsetMs;
  for (const change of batch.runs ?? []) {
    let run = state.runs.get(change.runId);
    if (change.created) {
      run = { config: change.created.config, startTime: change.created.startTime, history: [], state: change.state };
      state.runs.set(change.runId, run);
    }
    if (!run) throw new StateFileError(path, `line ${line} changes run ${change.runId}, which no earlier line created (the file is damaged)`);
    if (change.events && change.events.length > 0) {
      if (change.firstEventId !== run.history.length + 1) {
        throw new StateFileError(path, `line ${line} continues the history of run ${change.runId} at event ${change.firstEventId} after event ${run.history.length} (the file is damaged)`);
      }
      for (const e of change.events) run.history.push(e);
    }
    run.state = change.state;
  }
  for (const change of batch.schedules ?? []) {
    const key = `${change.namespace}\n${change.scheduleId}`;
    if (change.record) state.schedules.set(key, change.record);
    else state.schedules.delete(key);
  }
}

/** Replaces the file with the given records through a temporary file and a rename, so a crash leaves one or the other. */
export function writeStateFileAtomically(path: string, batches: Iterable<Batch>): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  const fd = openSync(temp, 'w');
  try {
    writeAll(fd, HEADER_LINE);
    for (const batch of batches) writeAll(fd, encodeRecord(batch));
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/** The open file that batches are appended to. */
export class StateFileAppender {
  private fd: number | undefined;
  /** bytes in the file: where the next batch starts */
  size: number;

  constructor(path: string) {
    this.fd = openSync(path, 'a');
    this.size = fstatSync(this.fd).size;
  }

  /** A synchronous write to the OS: once this returns, a kill -9 of this process cannot lose the batch. */
  append(batch: Batch): void {
    if (this.fd === undefined) throw new Error('state file is closed');
    try {
      this.size += writeAll(this.fd, encodeRecord(batch));
    } catch (err) {
      // A half-written batch (disk full) must not sit in the middle of the file once later batches follow it.
      try {
        ftruncateSync(this.fd, this.size);
      } catch {
        // the next load drops it as a torn tail if nothing follows; the error below is what the caller sees
      }
      throw err;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

function writeAll(fd: number, text: string): number {
  const bytes = Buffer.from(text, 'utf8');
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
  return bytes.length;
}

/**
 * One server per state file: `<file>.lock` holds the pid of the server using it. A lock left by a process that is
 * gone (kill -9) is taken over; one held by a live process makes start fail.
 */
export function lockStateFile(path: string): () => void {
  const lockPath = `${resolve(path)}.lock`;
  mkdirSync(dirname(lockPath), { recursive: true });
  let lock: PidLockResult;
  try {
    lock = takePidLock(lockPath);
  } catch (err) {
    throw new StateFileError(path, `its lock ${lockPath} cannot be taken (${err instanceof Error ? err.message : String(err)})`);
  }
  if (!lock.taken) {
    throw new StateFileError(path, lock.holder === process.pid ? 'it is in use by another server in this process' : `it is in use by ${lock.holder ? `process ${lock.holder}` : 'a process starting up'} (another server on the same file?)`);
  }
  return lock.release;
}
