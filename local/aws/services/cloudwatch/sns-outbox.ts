/**
 * Alarm notifications on their way to SNS topics: CloudWatch appends, the emulated SNS (when it runs) takes them in
 * its next time step and publishes them to the topic. Shared state, so both services of one emulator see it.
 */
import type { EmulatorScope, ServiceContext } from '../../service';
import type { Alarm, AlarmState } from './alarms';
import { cloudWatchTime } from './alarms';

export interface OutboxMessage {
  topicArn: string;
  subject: string;
  message: string;
}

export interface SnsOutbox {
  messages: OutboxMessage[];
}

export const SNS_OUTBOX_KEY = 'sns-outbox';

export function snsOutboxOf(scope: EmulatorScope): SnsOutbox {
  return scope.shared(SNS_OUTBOX_KEY, () => ({ messages: [] }));
}

const REGION_NAMES: Record<string, string> = {
  'us-east-1': 'US East (N. Virginia)',
  'us-east-2': 'US East (Ohio)',
  'us-west-2': 'US West (Oregon)',
  'eu-west-1': 'EU (Ireland)',
  'eu-central-1': 'EU (Frankfurt)',
};

/** The notification's subject: `ALARM: "name" in US East (N. Virginia)`. */
export function alarmSubject(region: string, alarm: Alarm): string {
  return `${alarm.state.value}: "${alarm.name}" in ${REGION_NAMES[region] ?? region}`;
}

/** The JSON message CloudWatch sends to an SNS topic when an alarm changes state. */
export function alarmNotification(ctx: Pick<ServiceContext<unknown>, 'accountId' | 'region'>, alarm: Alarm, previous: AlarmState): string {
  const trigger = alarm.single
    ? {
        MetricName: alarm.single.metricName,
        Namespace: alarm.single.namespace,
        StatisticType: 'Statistic',
        Statistic: alarm.single.statistic.toUpperCase(),
        Dimensions: alarm.single.dimensions.map((d) => ({ value: d.Value, name: d.Name })),
        Period: alarm.single.period,
      }
    : {
        Metrics: (alarm.metrics ?? []).map((q) =>
          q.MetricStat
            ? {
                Id: q.Id,
                MetricStat: {
                  Metric: { Dimensions: (q.MetricStat.Metric.Dimensions ?? []).map((d) => ({ value: d.Value, name: d.Name })), MetricName: q.MetricStat.Metric.MetricName, Namespace: q.MetricStat.Metric.Namespace },
                  Period: q.MetricStat.Period,
                  Stat: q.MetricStat.Stat,
                },
                ReturnData: q.ReturnData ?? true,
              }
            : { Expression: q.Expression, Id: q.Id, Label: q.Label ?? q.Id, ReturnData: q.ReturnData ?? true },
        ),
      };
  return JSON.stringify({
    AlarmName: alarm.name,
    AlarmDescription: alarm.description ?? null,
    AWSAccountId: ctx.accountId,
    AlarmConfigurationUpdatedTimestamp: cloudWatchTime(alarm.configUpdatedMs),
    NewStateValue: alarm.state.value,
    NewStateReason: alarm.state.reason,
    StateChangeTime: cloudWatchTime(alarm.state.timestampMs),
    Region: REGION_NAMES[ctx.region] ?? ctx.region,
    AlarmArn: alarm.arn,
    OldStateValue: previous.value,
    OKActions: alarm.okActions,
    AlarmActions: alarm.alarmActions,
    InsufficientDataActions: alarm.insufficientDataActions,
    Trigger: {
      ...trigger,
      ComparisonOperator: alarm.comparisonOperator,
      Threshold: alarm.threshold,
      TreatMissingData: alarm.treatMissingData,
      EvaluateLowSampleCountPercentile: '',
      EvaluationPeriods: alarm.evaluationPeriods,
      DatapointsToAlarm: alarm.datapointsToAlarm,
    },
  });
}
