/**
 * The alarms of one attempt, as PutMetricAlarm inputs (plain data a test can compare): one on the driver (algo-1)
 * and one per three executors (9 metrics; a math alarm takes at most 10). Each fires when any of its hosts' CPU
 * (normalised to the instance's vCPUs: SageMaker sums it over cores), memory or disk passes the threshold.
 */
import type { PutMetricAlarmCommandInput, MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { instanceType } from '../../common/instance-types';
import { driverAlarmName, executorAlarmGroups, executorAlarmName, type Resources, type ScalingPolicy } from '../../workflows/processing/model';

export const PROCESSING_NAMESPACE = '/aws/sagemaker/ProcessingJobs';

function hostMetric(id: string, jobName: string, host: number, metricName: string): MetricDataQuery {
  return {
    Id: id,
    MetricStat: { Metric: { Namespace: PROCESSING_NAMESPACE, MetricName: metricName, Dimensions: [{ Name: 'Host', Value: `${jobName}/algo-${host}` }] }, Period: 60, Stat: 'Maximum' },
    ReturnData: false,
  };
}

export function attemptAlarms(jobName: string, resources: Resources, policy: Pick<ScalingPolicy, 'thresholdPercent' | 'evaluationPeriods' | 'datapointsToAlarm' | 'alarmTopicArns'>): PutMetricAlarmCommandInput[] {
  const vcpus = instanceType(resources.instanceType)?.vcpus ?? 1;
  const t = policy.thresholdPercent;
  const common = {
    EvaluationPeriods: policy.evaluationPeriods,
    DatapointsToAlarm: policy.datapointsToAlarm,
    Threshold: 1,
    ComparisonOperator: 'GreaterThanOrEqualToThreshold' as const,
    TreatMissingData: 'notBreaching' as const,
    ActionsEnabled: policy.alarmTopicArns.length > 0,
    AlarmActions: policy.alarmTopicArns,
    Tags: [{ Key: 'mlops:processing-job', Value: jobName }],
  };
  const driver: PutMetricAlarmCommandInput = {
    ...common,
    AlarmName: driverAlarmName(jobName),
    AlarmDescription: `driver (algo-1) of ${jobName} above ${t}% CPU, memory or disk: restart on a bigger instance`,
    Metrics: [
      hostMetric('cpuDriver', jobName, 1, 'CPUUtilization'),
      hostMetric('memoryDriver', jobName, 1, 'MemoryUtilization'),
      hostMetric('diskDriver', jobName, 1, 'DiskUtilization'),
      { Id: 'driverBreach', Expression: `IF(cpuDriver / ${vcpus} > ${t}, 1, 0) OR IF(memoryDriver > ${t}, 1, 0) OR IF(diskDriver > ${t}, 1, 0)`, Label: 'driver above threshold', ReturnData: true },
    ],
  };
  const executors = executorAlarmGroups(resources.instanceCount).map((hosts, i): PutMetricAlarmCommandInput => ({
    ...common,
    AlarmName: executorAlarmName(jobName, i + 1),
    AlarmDescription: `executors algo-${hosts.join(', algo-')} of ${jobName} above ${t}% CPU, memory or disk: restart with more instances`,
    Metrics: [
      ...hosts.flatMap((h) => [hostMetric(`cpuExec${h}`, jobName, h, 'CPUUtilization'), hostMetric(`memoryExec${h}`, jobName, h, 'MemoryUtilization'), hostMetric(`diskExec${h}`, jobName, h, 'DiskUtilization')]),
      // MAX, not AVG: one executor out of memory fails the job just the same.
      {
        Id: 'executorBreach',
        Expression: `IF(MAX(METRICS("cpuExec")) / ${vcpus} > ${t}, 1, 0) OR IF(MAX(METRICS("memoryExec")) > ${t}, 1, 0) OR IF(MAX(METRICS("diskExec")) > ${t}, 1, 0)`,
        Label: 'executors above threshold',
        ReturnData: true,
      },
    ],
  }));
  return [driver, ...executors];
}
