/**
 * The durable counting semaphore that caps live DataSync tasks across every restore: pure state transitions of the
 * `dataSyncSlots` workflow. Holders are restore workflow ids, so a holder that dies can be recognised (its workflow is
 * closed) and its slot reclaimed.
 */

import type { HomeDirectory } from './model';

export const DEFAULT_DATASYNC_TASK_CAP = 90;

/** What a holder copies: enough to find and delete its DataSync resources if it dies holding the slot. */
export interface SlotTransfer {
  restoreId: string;
  from: HomeDirectory;
  to: HomeDirectory;
}

export interface SlotHolder {
  holder: string;
  since: string;
  transfer?: SlotTransfer;
}

export interface SlotsState {
  capacity: number;
  holders: SlotHolder[];
  /** First come, first served. */
  waiting: SlotHolder[];
  /** Holders that asked again while holding: their grant is sent again (a lost grant must not strand them). */
  regrant: string[];
  grantedEver: number;
  reclaimedEver: number;
}

export function initialSlots(capacity = DEFAULT_DATASYNC_TASK_CAP): SlotsState {
  return { capacity, holders: [], waiting: [], regrant: [], grantedEver: 0, reclaimedEver: 0 };
}

export function requestSlot(state: SlotsState, holder: string, now: string, capacity?: number, transfer?: SlotTransfer): SlotsState {
  const next = capacity !== undefined && capacity > 0 ? { ...state, capacity } : state;
  if (next.holders.some((h) => h.holder === holder)) {
    return next.regrant.includes(holder) ? next : { ...next, regrant: [...next.regrant, holder] };
  }
  if (next.waiting.some((h) => h.holder === holder)) return next;
  return { ...next, waiting: [...next.waiting, { holder, since: now, ...(transfer ? { transfer } : {}) }] };
}

/** Releasing a slot one does not hold (a retried release, a holder already reclaimed) changes nothing. */
export function releaseSlot(state: SlotsState, holder: string): SlotsState {
  return {
    ...state,
    holders: state.holders.filter((h) => h.holder !== holder),
    waiting: state.waiting.filter((h) => h.holder !== holder),
    regrant: state.regrant.filter((h) => h !== holder),
  };
}

export function reclaimSlots(state: SlotsState, closedHolders: string[]): SlotsState {
  let next = state;
  for (const h of closedHolders) {
    const held = next.holders.some((x) => x.holder === h);
    next = releaseSlot(next, h);
    if (held) next = { ...next, reclaimedEver: next.reclaimedEver + 1 };
  }
  return next;
}

export function freeSlots(state: SlotsState): number {
  return Math.max(0, state.capacity - state.holders.length);
}

export function hasGrantsToSend(state: SlotsState): boolean {
  return state.regrant.length > 0 || (state.waiting.length > 0 && freeSlots(state) > 0);
}

/** Moves waiters into free slots, oldest first; returns the holders whose grant must be delivered. */
export function grantSlots(state: SlotsState, now: string): { state: SlotsState; grants: string[] } {
  const n = Math.min(freeSlots(state), state.waiting.length);
  const promoted = state.waiting.slice(0, n).map((w) => ({ ...w, since: now }));
  const grants = [...state.regrant, ...promoted.map((p) => p.holder)];
  return {
    state: {
      ...state,
      holders: [...state.holders, ...promoted],
      waiting: state.waiting.slice(n),
      regrant: [],
      grantedEver: state.grantedEver + promoted.length,
    },
    grants,
  };
}

/** Leaked slots only matter when someone waits for one. */
export function needsLivenessAudit(state: SlotsState): boolean {
  return state.waiting.length > 0 && freeSlots(state) === 0;
}
