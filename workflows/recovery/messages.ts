import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { CancelRequest, CopyRequest, HomeReport, ProfileStatus, ReplicationChange, RestoreFigures, RetryRequest } from './model';
import type { SlotTransfer, SlotsState } from './slots';

/** A home directory was created (CloudTrail event through the gateway) or found (seed). */
export const homeReportedSignal = defineSignal<[HomeReport]>('homeReported');

/** Admin: turn automatic restores on or off for one profile. */
export const setReplicationUpdate = defineUpdate<{ replication: boolean; changed: boolean }, [ReplicationChange]>('setReplication');

/** Admin: copy another profile's home into this one, now or when this profile is created. */
export const requestCopyUpdate = defineUpdate<{ pending: boolean; restoreId?: number }, [CopyRequest]>('requestCopy');

/** Admin: run a failed restore again, from the same home into the profile's current one. */
export const retryRestoreUpdate = defineUpdate<{ restoreId: number; retryOf: number }, [RetryRequest]>('retryRestore');

/** Admin: cancel a restore that waits (for a home never opened, for a slot) or runs; its DataSync resources are deleted. */
export const cancelRestoreUpdate = defineUpdate<{ restoreId: number; wasRunning: boolean }, [CancelRequest]>('cancelRestore');

export const statusQuery = defineQuery<ProfileStatus>('status');

/** Restore -> slots workflow (sent by an activity with signal-with-start, so the semaphore exists on first use). */
export interface SlotRequest {
  holder: string;
  /** The requesting worker's configured cap: the semaphore follows the latest one. */
  capacity?: number;
  transfer?: SlotTransfer;
}
export const requestSlotSignal = defineSignal<[SlotRequest]>('requestSlot');
export const releaseSlotSignal = defineSignal<[{ holder: string }]>('releaseSlot');
/** Slots workflow -> restore. */
export const slotGrantedSignal = defineSignal('slotGranted');
export const slotsQuery = defineQuery<SlotsState>('slots');

/** How a DataSync execution ended, as DescribeTaskExecution tells it once it did. */
export type TransferOutcome = { status: 'succeeded'; figures: Omit<RestoreFigures, 'durationMs'> } | { status: 'failed'; message: string };

/**
 * Gateway -> restore (through a `transferEventIntake` workflow, which finds the restore by the task's tag): the
 * restore's DataSync execution ended, so it stops waiting at once instead of at its next poll.
 */
export interface TransferEnded {
  taskExecutionArn: string;
  outcome: TransferOutcome;
}
export const transferEndedSignal = defineSignal<[TransferEnded]>('transferEnded');
