/**
 * Overlap policies: what to do with the starts waiting in a schedule's buffer, given whether a workflow the
 * schedule started is still running. Semantics of temporal/api/enums/v1/schedule.proto (ScheduleOverlapPolicy).
 */

export const OVERLAP_POLICIES = [
  'SCHEDULE_OVERLAP_POLICY_UNSPECIFIED',
  'SCHEDULE_OVERLAP_POLICY_SKIP',
  'SCHEDULE_OVERLAP_POLICY_BUFFER_ONE',
  'SCHEDULE_OVERLAP_POLICY_BUFFER_ALL',
  'SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER',
  'SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER',
  'SCHEDULE_OVERLAP_POLICY_ALLOW_ALL',
] as const;

export type OverlapPolicy = (typeof OVERLAP_POLICIES)[number];

/** The enum as it arrives (name, or number from a client that sends numbers) to its name; undefined if unknown. */
export function overlapPolicyOf(value: unknown): OverlapPolicy | undefined {
  if (value === undefined || value === null || value === '' || value === 0) return 'SCHEDULE_OVERLAP_POLICY_UNSPECIFIED';
  if (typeof value === 'number') return OVERLAP_POLICIES[value];
  return OVERLAP_POLICIES.find((p) => p === value);
}

export interface BufferedStart {
  /** the spec's time (before jitter); names the workflow */
  nominal: number;
  /** when it was due (after jitter) */
  actual: number;
  /** UNSPECIFIED: the schedule's policy at the time it is started, so an update applies to waiting starts */
  overlapPolicy: OverlapPolicy;
  /** trigger-immediately or backfill: not subject to pause, remaining actions or the catch-up window */
  manual: boolean;
}

export interface BufferDecision {
  /** ALLOW_ALL starts: started now, whatever is running */
  overlapping: BufferedStart[];
  /** the one other start to make now, if any */
  next?: BufferedStart;
  /** what stays in the buffer */
  rest: BufferedStart[];
  cancelRunning: boolean;
  terminateRunning: boolean;
  skipped: number;
}

export function decideBuffer(buffer: readonly BufferedStart[], running: boolean, resolve: (p: OverlapPolicy) => OverlapPolicy): BufferDecision {
  const d: BufferDecision = { overlapping: [], rest: [], cancelRunning: false, terminateRunning: false, skipped: 0 };
  for (const start of buffer) {
    const policy = resolve(start.overlapPolicy);
    if (policy === 'SCHEDULE_OVERLAP_POLICY_ALLOW_ALL') {
      d.overlapping.push(start);
      continue;
    }
    if (!running && !d.next) {
      d.next = start;
      continue;
    }
    // It overlaps: with a running workflow, or with the start chosen just before it.
    switch (policy) {
      case 'SCHEDULE_OVERLAP_POLICY_BUFFER_ONE':
        if (d.rest.length === 0) d.rest.push(start);
        else d.skipped++;
        break;
      case 'SCHEDULE_OVERLAP_POLICY_BUFFER_ALL':
        d.rest.push(start);
        break;
      case 'SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER':
      case 'SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER':
        if (running) {
          if (policy === 'SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER') d.cancelRunning = true;
          else d.terminateRunning = true;
          // Only the newest waits for the running one to close; older waiting starts are superseded.
          d.skipped += d.rest.length;
          d.rest = [start];
        } else {
          // Nothing runs yet: the newer start replaces the one chosen.
          d.skipped++;
          d.next = start;
        }
        break;
      default:
        d.skipped++;
    }
  }
  // Starting ALLOW_ALL runs that a cancel or terminate would at once stop is pointless.
  if (d.cancelRunning || d.terminateRunning) d.overlapping = [];
  return d;
}
