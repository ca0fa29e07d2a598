/** Injected faults: errors before the handler runs, or a connection reset after it committed its change. */
import { z } from 'zod';

export const faultSpec = z
  .object({
    service: z.string().min(1),
    /** Operation name as in the API reference; omitted or `*` = every operation of the service. */
    operation: z.string().min(1).default('*'),
    /** Error code the SDK sees (ignored by `after-commit`). Default: from httpStatus, or ThrottlingException. */
    error: z.string().min(1).optional(),
    httpStatus: z.number().int().min(400).max(599).optional(),
    message: z.string().optional(),
    /** Fire this many times (default 1 unless probability is given). */
    count: z.number().int().positive().optional(),
    /** Fire on each matching request with this probability (with count: at most count times). */
    probability: z.number().min(0).max(1).optional(),
    mode: z.enum(['before', 'after-commit']).default('before'),
  })
  .strict();

export type FaultSpec = z.infer<typeof faultSpec>;

export interface Fault extends FaultSpec {
  id: string;
  fired: number;
}

export class FaultTable {
  private faults: Fault[] = [];
  private nextId = 1;

  add(spec: FaultSpec): Fault {
    const fault: Fault = { ...spec, id: `fault-${this.nextId++}`, fired: 0 };
    if (fault.count === undefined && fault.probability === undefined) fault.count = 1;
    this.faults.push(fault);
    return fault;
  }

  list(): readonly Fault[] {
    return this.faults;
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length !== before;
  }

  clear(): void {
    this.faults = [];
  }

  /** The first live fault matching the call, consumed by one firing; exhausted faults are dropped. */
  take(service: string, operation: string, random: () => number = Math.random): Fault | undefined {
    for (const fault of this.faults) {
      if (fault.service !== service && fault.service !== '*') continue;
      if (fault.operation !== '*' && fault.operation !== operation) continue;
      if (fault.count !== undefined && fault.fired >= fault.count) continue;
      if (fault.probability !== undefined && random() >= fault.probability) continue;
      fault.fired += 1;
      if (fault.count !== undefined && fault.fired >= fault.count) this.faults = this.faults.filter((f) => f !== fault);
      return fault;
    }
    return undefined;
  }
}

/** The error code of a "before" fault: what AWS answers for that status. */
export function faultErrorCode(fault: Fault, protocol: string): string {
  if (fault.error) return fault.error;
  const status = fault.httpStatus ?? 400;
  if (protocol === 'restXml') return status === 503 ? 'SlowDown' : status >= 500 ? 'InternalError' : 'ThrottlingException';
  if (status === 503) return 'ServiceUnavailable';
  if (status === 501) return 'NotImplemented';
  if (status >= 500) return 'InternalFailure';
  return 'ThrottlingException';
}
