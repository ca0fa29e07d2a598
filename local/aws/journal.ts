/** Every request the emulator answered, for tests and for users checking how their clients retry. */

export interface JournalEntry {
  seq: number;
  /** Emulated time of arrival, ISO 8601. */
  time: string;
  service: string;
  operation: string;
  /** From the SDK's `amz-sdk-request: attempt=N; max=M` header (1 without it). */
  attempt: number;
  maxAttempts?: number;
  /** The SDK's `amz-sdk-invocation-id`: the same for every attempt of one call. */
  invocationId?: string;
  requestId: string;
  /** HTTP status, or 0 when the connection was reset. */
  status: number;
  /** Error code answered; `ConnectionReset`, or `ConnectionReset (<code>)` when the lost answer was an error. */
  error?: string;
  /** Id of the injected fault that fired, if any. */
  fault?: string;
  durationMs: number;
}

export class Journal {
  private entries: JournalEntry[] = [];
  private seq = 0;

  constructor(private readonly capacity = 100_000) {}

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  add(entry: JournalEntry): void {
    this.entries.push(entry);
    // Drop the oldest tenth at once so a long benchmark does not pay a splice per request.
    if (this.entries.length > this.capacity) this.entries.splice(0, Math.ceil(this.capacity / 10));
  }

  list(filter: { service?: string; operation?: string; sinceSeq?: number } = {}): JournalEntry[] {
    return this.entries.filter(
      (e) =>
        (!filter.service || e.service === filter.service) &&
        (!filter.operation || e.operation === filter.operation) &&
        (filter.sinceSeq === undefined || e.seq > filter.sinceSeq),
    );
  }

  clear(): void {
    this.entries = [];
  }
}

/** Parses `attempt=2; max=3`. */
export function parseSdkRequestHeader(value: string | undefined): { attempt: number; max?: number } {
  if (!value) return { attempt: 1 };
  const attempt = /attempt=(\d+)/.exec(value);
  const max = /max=(\d+)/.exec(value);
  return { attempt: attempt ? Number(attempt[1]) : 1, ...(max ? { max: Number(max[1]) } : {}) };
}
