/** WorkflowService and OperatorService method table: which engine operation answers which call. */
import type { Engine } from './engine';
import { describeWorkflowExecution, getWorkflowExecutionHistory, getWorkflowExecutionHistoryReverse } from './history-reads';
import { executeMultiOperation, pollWorkflowExecutionUpdate, queryWorkflow, respondQueryTaskCompleted, updateWorkflowExecution } from './queries-and-updates';
import {
  pollActivityTaskQueue,
  pauseActivities,
  pollWorkflowTaskQueue,
  recordActivityTaskHeartbeat,
  recordActivityTaskHeartbeatById,
  respondActivityTaskCanceled,
  respondActivityTaskCanceledById,
  respondActivityTaskCompleted,
  respondActivityTaskCompletedById,
  respondActivityTaskFailed,
  respondActivityTaskFailedById,
  respondWorkflowTaskCompleted,
  respondWorkflowTaskFailed,
  resetActivities,
  shutdownWorker,
  unpauseActivities,
} from './task-handlers';
import { invalidArgument } from './errors';
import type { Handler } from './grpc-service';
import type { LongPoll } from './long-poll';
import { addSearchAttributes, countWorkflowExecutions, listSearchAttributes, listWorkflowExecutions, removeSearchAttributes } from './visibility-store';
import { msFromDuration, timestampFromMs } from './time-format';

export const SERVER_VERSION = '1.27.0';

type Req = Record<string, unknown> & { namespace?: string };

/** `persistenceStore` as GetClusterInfo reports it: 'file' when a state file keeps the server's state. */
export function workflowServiceHandlers(engine: Engine, opts: { persistenceStore?: 'memory' | 'file' } = {}): Record<string, Handler> {
  const e = engine;
  const h = <T>(fn: (req: T, poll: LongPoll) => unknown): Handler => fn as unknown as Handler;
  return {
    GetSystemInfo: h(() => ({
      serverVersion: SERVER_VERSION,
      capabilities: {
        signalAndQueryHeader: true,
        internalErrorDifferentiation: true,
        activityFailureIncludeHeartbeat: true,
        encodedFailureAttributes: true,
        upsertMemo: true,
        sdkMetadata: true,
        // As the real server: the SDK then stamps each completion with its build id (the BuildIds search attribute).
        buildIdBasedVersioning: true,
        countGroupByExecutionStatus: true,
      },
    })),
    GetClusterInfo: h(() => ({ serverVersion: SERVER_VERSION, clusterId: 'embedded', clusterName: 'active', historyShardCount: 1, persistenceStore: opts.persistenceStore ?? 'memory', visibilityStore: 'memory', supportedClients: {} })),
    DescribeNamespace: h((req: Req & { id?: string }) => {
      if (!req.namespace && req.id) {
        const ns = e.namespaces.byId(req.id);
        if (ns) return ns.describe();
      }
      return e.namespaces.get(req.namespace).describe();
    }),
    ListNamespaces: h(() => ({ namespaces: e.namespaces.all().map((ns) => ns.describe()) })),
    RegisterNamespace: h((req: Req & { description?: string; ownerEmail?: string; workflowExecutionRetentionPeriod?: { seconds?: number; nanos?: number }; data?: Record<string, string> }) => {
      e.namespaces.register(req.namespace ?? '', msFromDuration(req.workflowExecutionRetentionPeriod), req.description, req.ownerEmail, req.data);
      return {};
    }),
    UpdateNamespace: h((req: Req & { updateInfo?: { description?: string; ownerEmail?: string; data?: Record<string, string> }; config?: { workflowExecutionRetentionTtl?: { seconds?: number } } }) => {
      const ns = e.namespaces.get(req.namespace);
      if (req.updateInfo?.description !== undefined) ns.description = req.updateInfo.description;
      if (req.updateInfo?.ownerEmail !== undefined) ns.ownerEmail = req.updateInfo.ownerEmail;
      if (req.updateInfo?.data) ns.data = { ...ns.data, ...req.updateInfo.data };
      const ttl = msFromDuration(req.config?.workflowExecutionRetentionTtl);
      if (ttl > 0) ns.retentionMs = ttl;
      e.namespaces.changed();
      return { ...ns.describe(), isGlobalNamespace: false };
    }),
    StartWorkflowExecution: h((req: Parameters<Engine['startWorkflowExecution']>[0]) => e.startWorkflowExecution(req)),
    SignalWithStartWorkflowExecution: h((req: Parameters<Engine['signalWithStartWorkflowExecution']>[0]) => e.signalWithStartWorkflowExecution(req)),
    SignalWorkflowExecution: h((req: Parameters<Engine['signalWorkflowExecution']>[0]) => (e.signalWorkflowExecution(req), {})),
    RequestCancelWorkflowExecution: h((req: Parameters<Engine['requestCancelWorkflowExecution']>[0]) => (e.requestCancelWorkflowExecution(req), {})),
    TerminateWorkflowExecution: h((req: Parameters<Engine['terminateWorkflowExecution']>[0]) => (e.terminateWorkflowExecution(req), {})),
    ResetWorkflowExecution: h((req: Parameters<Engine['resetWorkflowExecution']>[0]) => e.resetWorkflowExecution(req)),
    GetWorkflowExecutionHistory: h((req: Parameters<typeof getWorkflowExecutionHistory>[1], poll) => getWorkflowExecutionHistory(e, req, poll)),
    GetWorkflowExecutionHistoryReverse: h((req: Parameters<typeof getWorkflowExecutionHistoryReverse>[1]) => getWorkflowExecutionHistoryReverse(e, req)),
    PollWorkflowTaskQueue: h((req: Parameters<typeof pollWorkflowTaskQueue>[1], poll) => pollWorkflowTaskQueue(e, req, poll)),
    RespondWorkflowTaskCompleted: h((req: Parameters<typeof respondWorkflowTaskCompleted>[1]) => respondWorkflowTaskCompleted(e, req)),
    RespondWorkflowTaskFailed: h((req: Parameters<typeof respondWorkflowTaskFailed>[1]) => respondWorkflowTaskFailed(e, req)),
    PollActivityTaskQueue: h((req: Parameters<typeof pollActivityTaskQueue>[1], poll) => pollActivityTaskQueue(e, req, poll)),
    RecordActivityTaskHeartbeat: h((req: Parameters<typeof recordActivityTaskHeartbeat>[1]) => recordActivityTaskHeartbeat(e, req)),
    PauseActivity: h((req: Parameters<typeof pauseActivities>[1]) => pauseActivities(e, req)),
    UnpauseActivity: h((req: Parameters<typeof unpauseActivities>[1]) => unpauseActivities(e, req)),
    ResetActivity: h((req: Parameters<typeof resetActivities>[1]) => resetActivities(e, req)),
    RecordActivityTaskHeartbeatById: h((req: Parameters<typeof recordActivityTaskHeartbeatById>[1]) => recordActivityTaskHeartbeatById(e, req)),
    RespondActivityTaskCompleted: h((req: Parameters<typeof respondActivityTaskCompleted>[1]) => respondActivityTaskCompleted(e, req)),
    RespondActivityTaskCompletedById: h((req: Parameters<typeof respondActivityTaskCompletedById>[1]) => respondActivityTaskCompletedById(e, req)),
    RespondActivityTaskFailed: h((req: Parameters<typeof respondActivityTaskFailed>[1]) => respondActivityTaskFailed(e, req)),
    RespondActivityTaskFailedById: h((req: Parameters<typeof respondActivityTaskFailedById>[1]) => respondActivityTaskFailedById(e, req)),
    RespondActivityTaskCanceled: h((req: Parameters<typeof respondActivityTaskCanceled>[1]) => respondActivityTaskCanceled(e, req)),
    RespondActivityTaskCanceledById: h((req: Parameters<typeof respondActivityTaskCanceledById>[1]) => respondActivityTaskCanceledById(e, req)),
    QueryWorkflow: h((req: Parameters<typeof queryWorkflow>[1], poll) => queryWorkflow(e, req, poll)),
    RespondQueryTaskCompleted: h((req: Parameters<typeof respondQueryTaskCompleted>[1]) => respondQueryTaskCompleted(e, req)),
    ExecuteMultiOperation: h((req: Parameters<typeof executeMultiOperation>[1], poll) => executeMultiOperation(e, req, poll)),
    UpdateWorkflowExecution: h((req: Parameters<typeof updateWorkflowExecution>[1], poll) => updateWorkflowExecution(e, req, poll)),
    PollWorkflowExecutionUpdate: h((req: Parameters<typeof pollWorkflowExecutionUpdate>[1], poll) => pollWorkflowExecutionUpdate(e, req, poll)),
    DescribeWorkflowExecution: h((req: Parameters<typeof describeWorkflowExecution>[1]) => describeWorkflowExecution(e, req)),
    ListWorkflowExecutions: h((req: Req & { pageSize?: number; nextPageToken?: Buffer; query?: string }) => listWorkflowExecutions(e.namespaces.get(req.namespace), req)),
    ScanWorkflowExecutions: h((req: Req & { pageSize?: number; nextPageToken?: Buffer; query?: string }) => listWorkflowExecutions(e.namespaces.get(req.namespace), req)),
    CountWorkflowExecutions: h((req: Req & { query?: string }) => countWorkflowExecutions(e.namespaces.get(req.namespace), req)),
    ShutdownWorker: h((req: Parameters<typeof shutdownWorker>[1]) => shutdownWorker(e, req)),
    DescribeTaskQueue: h((req: Req & { taskQueue?: { name?: string }; taskQueueType?: string | number }) => {
      const ns = e.namespaces.get(req.namespace);
      if (!req.taskQueue?.name) throw invalidArgument('TaskQueue is not set on request.');
      const activity = req.taskQueueType === 'TASK_QUEUE_TYPE_ACTIVITY' || req.taskQueueType === 2;
      const queues = activity ? e.activityTasks : e.workflowTasks;
      const pollers = queues.recentPollers(ns.name, activity ? 'activity' : 'workflow', req.taskQueue.name);
      return { pollers: pollers.map((p) => ({ identity: p.identity, lastAccessTime: timestampFromMs(p.lastAccessMs), ratePerSecond: 100_000 })) };
    }),
    ResetStickyTaskQueue: h((req: Req & { execution?: { workflowId?: string; runId?: string } }) => {
      e.findRun(req.namespace, req.execution).leaveStickyQueue();
      return {};
    }),
    DescribeWorkerDeployment: h((req: Req & { deploymentName?: string }) => e.deployments.describeWorkerDeployment(e.namespaces.get(req.namespace).name, req)),
    ListWorkerDeployments: h((req: Req & { pageSize?: number; nextPageToken?: Buffer }) => e.deployments.listWorkerDeployments(e.namespaces.get(req.namespace).name, req)),
    SetWorkerDeploymentCurrentVersion: h((req: Parameters<Engine['deployments']['setCurrentVersion']>[1]) => e.deployments.setCurrentVersion(e.namespaces.get(req.namespace).name, req)),
    SetWorkerDeploymentRampingVersion: h((req: Parameters<Engine['deployments']['setRampingVersion']>[1]) => e.deployments.setRampingVersion(e.namespaces.get(req.namespace).name, req)),
    DescribeWorkerDeploymentVersion: h((req: Parameters<Engine['deployments']['describeWorkerDeploymentVersion']>[1]) => e.deployments.describeWorkerDeploymentVersion(e.namespaces.get(req.namespace).name, req)),
    UpdateWorkerDeploymentVersionMetadata: h((req: Parameters<Engine['deployments']['updateVersionMetadata']>[1]) => e.deployments.updateVersionMetadata(e.namespaces.get(req.namespace).name, req)),
    DeleteWorkerDeploymentVersion: h((req: Parameters<Engine['deployments']['deleteWorkerDeploymentVersion']>[1]) => e.deployments.deleteWorkerDeploymentVersion(e.namespaces.get(req.namespace).name, req)),
    DeleteWorkerDeployment: h((req: Req & { deploymentName?: string }) => e.deployments.deleteWorkerDeployment(e.namespaces.get(req.namespace).name, req)),
    SetWorkerDeploymentManager: h((req: Parameters<Engine['deployments']['setManager']>[1]) => e.deployments.setManager(e.namespaces.get(req.namespace).name, req)),
    GetSearchAttributes: h(() => {
      const keys: Record<string, string> = {};
      for (const ns of e.namespaces.all()) Object.assign(keys, (listSearchAttributes(ns) as { customAttributes: Record<string, string> }).customAttributes);
      return { keys };
    }),
  };
}

export function operatorServiceHandlers(engine: Engine): Record<string, Handler> {
  const h = <T>(fn: (req: T) => unknown): Handler => fn as unknown as Handler;
  return {
    AddSearchAttributes: h((req: Req & { searchAttributes?: Record<string, string> }) => {
      const answer = addSearchAttributes(engine.namespaces.get(req.namespace), req.searchAttributes);
      engine.namespaces.changed();
      return answer;
    }),
    RemoveSearchAttributes: h((req: Req & { searchAttributes?: string[] }) => {
      const answer = removeSearchAttributes(engine.namespaces.get(req.namespace), req.searchAttributes);
      engine.namespaces.changed();
      return answer;
    }),
    ListSearchAttributes: h((req: Req) => listSearchAttributes(engine.namespaces.get(req.namespace))),
  };
}

