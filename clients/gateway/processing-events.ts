/**
 * What an event means for checkpointed processing: a "CloudWatch Alarm State Change" of an attempt's alarm, or a
 * "SageMaker Processing Job State Change" of an attempt's job, becomes a signal to that job's workflow. Pure: the
 * server acts on the answer. The same notices come from SNS (sns.ts) for alarms whose actions publish to a topic.
 */
import type { AlarmNotice, JobStateNotice } from '../../workflows/processing/messages';
import { parseAlarmName, parseAttemptJobName, processingWorkflowId } from '../../workflows/processing/model';

export type ProcessingSignal =
  | { kind: 'alarm'; workflowId: string; notice: AlarmNotice }
  | { kind: 'job'; workflowId: string; notice: JobStateNotice };

export type ProcessingInterpretation = ProcessingSignal | { kind: 'ignored'; reason: string } | { kind: 'not-processing' };

interface Envelope {
  source?: unknown;
  'detail-type'?: unknown;
  detail?: unknown;
}

export function alarmSignalFor(alarmName: string, state: string, reason?: string, at?: string): ProcessingInterpretation {
  const parsed = parseAlarmName(alarmName);
  const attempt = parsed ? parseAttemptJobName(parsed.jobName) : undefined;
  if (!parsed || !attempt) return { kind: 'ignored', reason: `alarm ${alarmName} is not a processing attempt's` };
  return {
    kind: 'alarm',
    workflowId: processingWorkflowId(attempt.base),
    notice: { alarmName, state, ...(reason !== undefined ? { reason } : {}), ...(at !== undefined ? { at } : {}) },
  };
}

/** An EventBridge delivery: a processing signal, ignored (ours in form, but of no job), or not for this pipeline. */
export function interpretProcessingEvent(body: unknown): ProcessingInterpretation {
  const env = (body ?? {}) as Envelope;
  const detail = (env.detail ?? {}) as Record<string, unknown>;
  if (env.source === 'aws.cloudwatch' && env['detail-type'] === 'CloudWatch Alarm State Change') {
    const state = (detail.state ?? {}) as { value?: unknown; reason?: unknown; timestamp?: unknown };
    if (typeof detail.alarmName !== 'string' || typeof state.value !== 'string') return { kind: 'ignored', reason: 'alarm state change without detail.alarmName / detail.state.value' };
    return alarmSignalFor(detail.alarmName, state.value, typeof state.reason === 'string' ? state.reason : undefined, typeof state.timestamp === 'string' ? state.timestamp : undefined);
  }
  if (env.source === 'aws.sagemaker' && env['detail-type'] === 'SageMaker Processing Job State Change') {
    const name = detail.ProcessingJobName;
    const status = detail.ProcessingJobStatus;
    if (typeof name !== 'string' || typeof status !== 'string') return { kind: 'ignored', reason: 'job state change without ProcessingJobName / ProcessingJobStatus' };
    const attempt = parseAttemptJobName(name);
    if (!attempt) return { kind: 'ignored', reason: `processing job ${name} is not an attempt of a checkpointed job` };
    return {
      kind: 'job',
      workflowId: processingWorkflowId(attempt.base),
      notice: { jobName: name, status, ...(typeof detail.FailureReason === 'string' ? { failureReason: detail.FailureReason } : {}) },
    };
  }
  return { kind: 'not-processing' };
}
