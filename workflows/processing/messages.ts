import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { ProcessingStatus } from './model';

/** A CloudWatch alarm of one of this workflow's attempts changed state (EventBridge or SNS, through the gateway). */
export interface AlarmNotice {
  alarmName: string;
  state: string;
  reason?: string;
  /** When the alarm changed (ISO); duplicates carry the same one. */
  at?: string;
}
export const alarmSignal = defineSignal<[AlarmNotice]>('processingAlarm');

/** A processing job of this workflow changed state ("SageMaker Processing Job State Change" through the gateway). */
export interface JobStateNotice {
  jobName: string;
  status: string;
  failureReason?: string;
}
export const jobStateSignal = defineSignal<[JobStateNotice]>('processingJobState');

/** Lets the workflow spend past its budget: `addUsd` more (the CLI's `approve`), or without limit. */
export interface BudgetApproval {
  addUsd?: number;
  by?: string;
}
export const approveBudgetUpdate = defineUpdate<{ budgetUsd?: number }, [BudgetApproval]>('approveBudget');

export const processingStatusQuery = defineQuery<ProcessingStatus>('status');
