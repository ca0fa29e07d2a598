/**
 * AWS DataSync (awsJson1_1, `FmrsService.*`) for EFS-to-EFS transfers: EFS locations, tasks (at most 100 per
 * region, as AWS), task executions that really copy the emulated file trees with the task's options, and tags.
 * Every status an execution reaches is published as a "DataSync Task Execution State Change" event.
 * Control endpoints: GET /_emulator/services/datasync/stats (live tasks and their high-water mark), ended-executions
 * (how long each copy took, kept after its task is deleted), settings.
 */
import { z } from 'zod';
import { defineService, newId, operation, type OperationContext, type ServiceContext } from '../../service';
import { normalisePath, PathError } from '../efs/file-tree';
import { paginate } from '../efs/pages';
import { fileSystemArn, fileSystemIdFromArn } from '../efs/store';
import { WORLD_CLASSES, worldOf } from '../efs/world';
import { TrackedMap } from '../../persistence/tracked-map';
import { beginExecution, EXECUTION_KIND, executionLifecycle, viewExecution, type ExecutionView } from './executions';
import { DEFAULT_SETTINGS, emptyStats, type DataSyncState, type EfsLocation, type Execution, type Tag, type Task } from './state';
import { DEFAULT_OPTIONS, type TransferOptions } from './transfer';

type Ctx = OperationContext<DataSyncState>;

const LOCATION_ARN = /^arn:aws[a-z-]*:datasync:[a-z0-9-]+:\d{12}:location\/loc-[0-9a-z]{17}$/;
const TASK_ARN = /^arn:aws[a-z-]*:datasync:[a-z0-9-]+:\d{12}:task\/task-[0-9a-f]{17}$/;
const EXECUTION_ARN = /^arn:aws[a-z-]*:datasync:[a-z0-9-]+:\d{12}:task\/task-[0-9a-f]{17}\/execution\/exec-[0-9a-f]{17}$/;
const SUBNET_ARN = /^arn:aws[a-z-]*:ec2:[a-z0-9-]+:\d{12}:subnet\/(subnet-[0-9a-f]+)$/;
const SECURITY_GROUP_ARN = /^arn:aws[a-z-]*:ec2:[a-z0-9-]+:\d{12}:security-group\/(sg-[0-9a-f]+)$/;

const pattern = (re: RegExp) => z.string().max(128).regex(re, { message: `Member must satisfy regular expression pattern: ${re.source}` });
const tagList = z.array(z.object({ Key: z.string().min(1).max(256), Value: z.string().max(256).optional() })).max(50).optional();
const listInput = { MaxResults: z.number().int().min(0).max(100).optional(), NextToken: z.string().max(65535).optional() };
const filterRules = z.array(z.object({ FilterType: z.enum(['SIMPLE_PATTERN']).optional(), Value: z.string().max(102400).optional() })).max(1).optional();
const filters = z.array(z.object({ Name: z.string(), Values: z.array(z.string()), Operator: z.string() })).optional();

const optionsSchema = z
  .object({
    VerifyMode: z.enum(['POINT_IN_TIME_CONSISTENT', 'ONLY_FILES_TRANSFERRED', 'NONE']),
    OverwriteMode: z.enum(['ALWAYS', 'NEVER']),
    Atime: z.enum(['NONE', 'BEST_EFFORT']),
    Mtime: z.enum(['NONE', 'PRESERVE']),
    Uid: z.enum(['NONE', 'INT_VALUE', 'NAME', 'BOTH']),
    Gid: z.enum(['NONE', 'INT_VALUE', 'NAME', 'BOTH']),
    PreserveDeletedFiles: z.enum(['PRESERVE', 'REMOVE']),
    PreserveDevices: z.enum(['NONE', 'PRESERVE']),
    PosixPermissions: z.enum(['NONE', 'PRESERVE']),
    BytesPerSecond: z.number().int().min(-1),
    TaskQueueing: z.enum(['ENABLED', 'DISABLED']),
    LogLevel: z.enum(['OFF', 'BASIC', 'TRANSFER']),
    TransferMode: z.enum(['CHANGED', 'ALL']),
    SecurityDescriptorCopyFlags: z.enum(['NONE', 'OWNER_DACL', 'OWNER_DACL_SACL']),
    ObjectTags: z.enum(['PRESERVE', 'NONE']),
  })
  .partial();

type OptionsInput = z.infer<typeof optionsSchema>;

function invalid(ctx: ServiceContext<DataSyncState>, message: string): Error {
  return ctx.error('InvalidRequestException', message);
}

/** Options as given over the defaults, checked for the combinations DataSync refuses. */
function mergeOptions(ctx: Ctx, base: TransferOptions, given: OptionsInput | undefined): TransferOptions {
  const o: TransferOptions = { ...base, ...(given ?? {}) };
  if (o.Atime === 'BEST_EFFORT' && o.Mtime === 'NONE') throw invalid(ctx, 'Atime BEST_EFFORT requires Mtime PRESERVE.');
  if (o.Atime === 'NONE' && o.Mtime === 'PRESERVE') throw invalid(ctx, 'Atime NONE requires Mtime NONE.');
  if (o.PreserveDeletedFiles === 'REMOVE' && o.TransferMode === 'ALL') {
    throw invalid(ctx, 'PreserveDeletedFiles REMOVE cannot be used with TransferMode ALL: a transfer of all data does not scan the destination.');
  }
  // Every location here is EFS, where DataSync cannot recreate devices.
  if (o.PreserveDevices === 'PRESERVE') throw invalid(ctx, 'PreserveDevices PRESERVE is not supported for Amazon EFS locations.');
  if (o.BytesPerSecond === 0 || (o.BytesPerSecond > 0 && o.BytesPerSecond < 1_048_576)) {
    throw invalid(ctx, 'BytesPerSecond must be -1 (no limit) or at least 1048576.');
  }
  return o;
}

function location(ctx: Ctx, arn: string): EfsLocation {
  const loc = ctx.state.locations.get(arn);
  if (!loc) throw invalid(ctx, `Location ${arn} is not found.`);
  return loc;
}

function task(ctx: Ctx, arn: string): Task {
  const t = ctx.state.tasks.get(arn);
  if (!t) throw invalid(ctx, `Task ${arn} is not found.`);
  return t;
}

function execution(ctx: Ctx, arn: string): Execution {
  const e = ctx.state.executions.get(arn);
  if (!e) throw invalid(ctx, `Task execution ${arn} is not found.`);
  return e;
}

/** The task's execution that has not ended, with its view (computing a view walks the job's history). */
function liveExecutionOf(ctx: ServiceContext<DataSyncState>, taskArn: string): { rec: Execution; view: ExecutionView } | undefined {
  for (const arn of ctx.state.tasks.get(taskArn)?.executionArns ?? []) {
    const rec = ctx.state.executions.get(arn);
    if (!rec) continue;
    const view = viewExecution(ctx, rec);
    if (!view.ended) return { rec, view };
  }
  return undefined;
}

function taskStatus(ctx: ServiceContext<DataSyncState>, t: Task): { status: string; current?: Execution } {
  const live = liveExecutionOf(ctx, t.arn);
  if (!live) return { status: 'AVAILABLE' };
  return { status: live.view.status === 'QUEUED' ? 'QUEUED' : 'RUNNING', current: live.rec };
}

function networkInterfaces(ctx: Ctx, count: number): string[] {
  return Array.from({ length: count }, () => ctx.arn(`network-interface/${newId('eni-', 17)}`, 'ec2'));
}

function matchFilter(value: string, operator: string, values: readonly string[]): boolean {
  switch (operator) {
    case 'Equals':
    case 'In':
      return values.includes(value);
    case 'NotEquals':
      return !values.includes(value);
    case 'BeginsWith':
      return values.some((v) => value.startsWith(v));
    case 'Contains':
      return values.some((v) => value.includes(v));
    case 'NotContains':
      return values.every((v) => !value.includes(v));
    default:
      return false;
  }
}

function matchTime(ms: number, operator: string, values: readonly string[]): boolean {
  const t = values.map((v) => (/^\d+(\.\d+)?$/.test(v) ? Number(v) * 1000 : Date.parse(v)));
  const first = t[0] ?? NaN;
  switch (operator) {
    case 'GreaterThan':
      return ms > first;
    case 'GreaterThanOrEqual':
      return ms >= first;
    case 'LessThan':
      return ms < first;
    case 'LessThanOrEqual':
      return ms <= first;
    case 'Equals':
      return t.includes(ms);
    default:
      return false;
  }
}

function checkOperator(ctx: Ctx, name: string, operator: string, allowed: readonly string[]): void {
  if (!allowed.includes(operator)) throw invalid(ctx, `Operator ${operator} is not supported for filter ${name}.`);
}

function setTags(ctx: Ctx, arn: string, tags: readonly Tag[] | undefined): void {
  if (!tags || tags.length === 0) return;
  const current = ctx.state.tags.get(arn) ?? [];
  for (const t of tags) {
    const i = current.findIndex((c) => c.Key === t.Key);
    if (i >= 0) current[i] = { ...t };
    else current.push({ ...t });
  }
  if (current.length > 50) throw invalid(ctx, 'A resource can have at most 50 tags.');
  ctx.state.tags.set(arn, current);
}

function locationUri(region: string, fileSystemId: string, subdirectory: string): string {
  return `efs://${region}.${fileSystemId}${subdirectory === '/' ? '/' : `${subdirectory}/`}`;
}

function recordHighWater(ctx: Ctx): void {
  const { stats } = ctx.state;
  stats.maxLiveTasks = Math.max(stats.maxLiveTasks, ctx.state.tasks.size);
  stats.maxLiveLocations = Math.max(stats.maxLiveLocations, ctx.state.locations.size);
}

function describeTask(ctx: Ctx, t: Task) {
  const { status, current } = taskStatus(ctx, t);
  return {
    TaskArn: t.arn,
    Status: status,
    ...(t.name !== undefined ? { Name: t.name } : {}),
    ...(current ? { CurrentTaskExecutionArn: current.arn } : {}),
    SourceLocationArn: t.sourceLocationArn,
    DestinationLocationArn: t.destinationLocationArn,
    ...(t.cloudWatchLogGroupArn ? { CloudWatchLogGroupArn: t.cloudWatchLogGroupArn } : {}),
    SourceNetworkInterfaceArns: t.sourceNetworkInterfaceArns,
    DestinationNetworkInterfaceArns: t.destinationNetworkInterfaceArns,
    Options: t.options,
    Excludes: t.excludes ?? [],
    ...(t.schedule ? { Schedule: t.schedule } : {}),
    CreationTime: new Date(t.createdAtMs),
    Includes: t.includes ?? [],
    TaskMode: t.taskMode ?? 'BASIC',
  };
}

export const datasync = defineService<DataSyncState>({
  name: 'datasync',
  protocol: 'awsJson1_1',
  targetPrefix: 'FmrsService',
  validationError: { code: 'InvalidRequestException' },
  persistentClasses: WORLD_CLASSES,
  // Every execution's lifecycle has its own durations but the same hook: one stands for them all.
  lifecycles: [executionLifecycle(DEFAULT_OPTIONS, 0, 0)],
  // Each status an execution reaches publishes its state-change event: a jumping clock stops there, so the event
  // goes out when the execution changes, not whenever something else next moves time.
  nextWakeMs: (ctx) => ctx.jobs.nextTransitionMs(EXECUTION_KIND),
  createState: (scope) => ({
    world: worldOf(scope),
    locations: new Map(),
    tasks: new Map(),
    // Tracked: a durable emulator writes the executions that changed (their transfer plans can be big).
    executions: new TrackedMap(),
    tags: new Map(),
    settings: { ...DEFAULT_SETTINGS },
    stats: emptyStats(),
    endedExecutions: [],
  }),
  operations: {
    CreateLocationEfs: operation({
      input: z.object({
        Subdirectory: z.string().max(4096).optional(),
        EfsFilesystemArn: z.string().max(128),
        Ec2Config: z.object({ SubnetArn: z.string().max(128), SecurityGroupArns: z.array(z.string().max(128)).min(1).max(5) }),
        Tags: tagList,
        AccessPointArn: z.string().max(128).optional(),
        FileSystemAccessRoleArn: z.string().max(2048).optional(),
        InTransitEncryption: z.enum(['NONE', 'TLS1_2']).optional(),
      }),
      handler(input, ctx: Ctx) {
        const { world } = ctx.state;
        const fileSystemId = fileSystemIdFromArn(input.EfsFilesystemArn);
        if (!fileSystemId) throw invalid(ctx, `Invalid EFS file system ARN: ${input.EfsFilesystemArn}`);
        const fs = world.efs.fileSystems.get(fileSystemId);
        if (!fs) throw invalid(ctx, `Unable to describe EFS file system ${fileSystemId}: the file system does not exist.`);
        const subnetId = SUBNET_ARN.exec(input.Ec2Config.SubnetArn)?.[1];
        if (!subnetId) throw invalid(ctx, `Invalid subnet ARN: ${input.Ec2Config.SubnetArn}`);
        const subnet = world.ec2.subnets.get(subnetId);
        if (!subnet) throw invalid(ctx, `Subnet ${subnetId} does not exist.`);
        const groupIds = input.Ec2Config.SecurityGroupArns.map((arn) => {
          const id = SECURITY_GROUP_ARN.exec(arn)?.[1];
          if (!id) throw invalid(ctx, `Invalid security group ARN: ${arn}`);
          const sg = world.ec2.securityGroups.get(id);
          if (!sg) throw invalid(ctx, `Security group ${id} does not exist.`);
          if (sg.vpcId !== subnet.vpcId) throw invalid(ctx, `Security group ${id} is not in the VPC of subnet ${subnetId}.`);
          return id;
        });
        const mountTargets = world.efs.mountTargetsOf(fileSystemId);
        const reachable = mountTargets.filter((mt) => mt.vpcId === subnet.vpcId && mt.azLetter === subnet.azLetter);
        if (reachable.length === 0) {
          throw invalid(ctx, `The subnet ${subnetId} must be in the same Availability Zone as a mount target of file system ${fileSystemId}.`);
        }
        if (ctx.state.settings.checkNetworkAccess && !reachable.some((mt) => world.ec2.allowsNfs(groupIds, mt.securityGroups))) {
          throw invalid(
            ctx,
            `DataSync location access test failed: could not perform mount of ${fileSystemId} (mount.nfs: Connection timed out). ` +
              `The security groups of the mount target must allow NFS (TCP 2049) from ${groupIds.join(', ')}.`,
          );
        }
        let subdirectory: string;
        try {
          subdirectory = normalisePath(input.Subdirectory ?? '/');
        } catch (err) {
          if (err instanceof PathError) throw invalid(ctx, `Invalid subdirectory ${input.Subdirectory ?? ''}: ${err.message}`);
          throw err;
        }
        const arn = ctx.arn(`location/loc-${newId('', 17)}`);
        ctx.state.locations.set(arn, {
          arn,
          region: ctx.region,
          uri: locationUri(fs.region, fileSystemId, subdirectory),
          fileSystemId,
          subdirectory,
          ec2Config: { SubnetArn: input.Ec2Config.SubnetArn, SecurityGroupArns: [...input.Ec2Config.SecurityGroupArns] },
          securityGroupIds: groupIds,
          ...(input.AccessPointArn ? { accessPointArn: input.AccessPointArn } : {}),
          ...(input.FileSystemAccessRoleArn ? { fileSystemAccessRoleArn: input.FileSystemAccessRoleArn } : {}),
          ...(input.InTransitEncryption ? { inTransitEncryption: input.InTransitEncryption } : {}),
          createdAtMs: ctx.nowMs(),
        });
        setTags(ctx, arn, input.Tags);
        ctx.state.stats.locationsCreated += 1;
        recordHighWater(ctx);
        return { LocationArn: arn };
      },
    }),
    DescribeLocationEfs: operation({
      input: z.object({ LocationArn: pattern(LOCATION_ARN) }),
      handler(input, ctx: Ctx) {
        const loc = location(ctx, input.LocationArn);
        return {
          LocationArn: loc.arn,
          LocationUri: loc.uri,
          Ec2Config: loc.ec2Config,
          CreationTime: new Date(loc.createdAtMs),
          ...(loc.accessPointArn ? { AccessPointArn: loc.accessPointArn } : {}),
          ...(loc.fileSystemAccessRoleArn ? { FileSystemAccessRoleArn: loc.fileSystemAccessRoleArn } : {}),
          ...(loc.inTransitEncryption ? { InTransitEncryption: loc.inTransitEncryption } : {}),
        };
      },
    }),
    ListLocations: operation({
      input: z.object({ ...listInput, Filters: filters }),
      handler(input, ctx: Ctx) {
        let all = [...ctx.state.locations.values()];
        for (const f of input.Filters ?? []) {
          if (f.Name === 'LocationUri') {
            checkOperator(ctx, f.Name, f.Operator, ['Equals', 'NotEquals', 'In', 'BeginsWith', 'Contains', 'NotContains']);
            all = all.filter((l) => matchFilter(l.uri, f.Operator, f.Values));
          } else if (f.Name === 'LocationType') {
            checkOperator(ctx, f.Name, f.Operator, ['Equals', 'NotEquals', 'In']);
            all = all.filter(() => matchFilter('EFS', f.Operator, f.Values.map((v) => v.toUpperCase())));
          } else if (f.Name === 'CreationTime') {
            checkOperator(ctx, f.Name, f.Operator, ['Equals', 'GreaterThan', 'GreaterThanOrEqual', 'LessThan', 'LessThanOrEqual']);
            all = all.filter((l) => matchTime(l.createdAtMs, f.Operator, f.Values));
          } else {
            throw invalid(ctx, `Unsupported filter name ${f.Name}.`);
          }
        }
        const page = paginate(all, input.NextToken, input.MaxResults || 100, () => invalid(ctx, 'Invalid NextToken.'));
        return { Locations: page.items.map((l) => ({ LocationArn: l.arn, LocationUri: l.uri })), ...(page.next ? { NextToken: page.next } : {}) };
      },
    }),
    DeleteLocation: operation({
      input: z.object({ LocationArn: pattern(LOCATION_ARN) }),
      handler(input, ctx: Ctx) {
        location(ctx, input.LocationArn);
        const user = [...ctx.state.tasks.values()].find((t) => t.sourceLocationArn === input.LocationArn || t.destinationLocationArn === input.LocationArn);
        if (user) throw invalid(ctx, `Location ${input.LocationArn} is in use by task ${user.arn}; delete the task first.`);
        ctx.state.locations.delete(input.LocationArn);
        ctx.state.tags.delete(input.LocationArn);
        ctx.state.stats.locationsDeleted += 1;
        return {};
      },
    }),
    CreateTask: operation({
      input: z.object({
        SourceLocationArn: pattern(LOCATION_ARN),
        DestinationLocationArn: pattern(LOCATION_ARN),
        CloudWatchLogGroupArn: z.string().max(562).optional(),
        Name: z.string().min(1).max(256).regex(/^[a-zA-Z0-9\s+=._:@/-]+$/, { message: 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9\\s+=._:@/-]+$' }).optional(),
        Options: optionsSchema.optional(),
        Excludes: filterRules,
        Schedule: z.looseObject({ ScheduleExpression: z.string() }).optional(),
        Tags: tagList,
        Includes: filterRules,
        TaskMode: z.enum(['BASIC', 'ENHANCED']).optional(),
      }),
      handler(input, ctx: Ctx) {
        const { state } = ctx;
        location(ctx, input.SourceLocationArn);
        location(ctx, input.DestinationLocationArn);
        if (input.SourceLocationArn === input.DestinationLocationArn) throw invalid(ctx, 'The source and destination locations must be different.');
        const options = mergeOptions(ctx, DEFAULT_OPTIONS, input.Options);
        const live = [...state.tasks.values()].filter((t) => t.region === ctx.region).length;
        if (live >= state.settings.tasksPerRegion) {
          state.stats.tasksRefusedByQuota += 1;
          throw invalid(ctx, `You have reached the maximum number of tasks (${state.settings.tasksPerRegion}) allowed for this account in this Region. Delete tasks you no longer need or request a quota increase.`);
        }
        const arn = ctx.arn(`task/task-${newId('', 17)}`);
        state.tasks.set(arn, {
          arn,
          region: ctx.region,
          ...(input.Name !== undefined ? { name: input.Name } : {}),
          sourceLocationArn: input.SourceLocationArn,
          destinationLocationArn: input.DestinationLocationArn,
          options,
          ...(input.Excludes ? { excludes: input.Excludes } : {}),
          ...(input.Includes ? { includes: input.Includes } : {}),
          ...(input.CloudWatchLogGroupArn ? { cloudWatchLogGroupArn: input.CloudWatchLogGroupArn } : {}),
          ...(input.Schedule ? { schedule: input.Schedule } : {}),
          ...(input.TaskMode ? { taskMode: input.TaskMode } : {}),
          createdAtMs: ctx.nowMs(),
          sourceNetworkInterfaceArns: networkInterfaces(ctx, 4),
          destinationNetworkInterfaceArns: networkInterfaces(ctx, 4),
          executionArns: [],
        });
        setTags(ctx, arn, input.Tags);
        state.stats.tasksCreated += 1;
        recordHighWater(ctx);
        return { TaskArn: arn };
      },
    }),
    DescribeTask: operation({
      input: z.object({ TaskArn: pattern(TASK_ARN) }),
      handler(input, ctx: Ctx) {
        return describeTask(ctx, task(ctx, input.TaskArn));
      },
    }),
    ListTasks: operation({
      input: z.object({ ...listInput, Filters: filters }),
      handler(input, ctx: Ctx) {
        let all = [...ctx.state.tasks.values()];
        for (const f of input.Filters ?? []) {
          if (f.Name === 'LocationId') {
            checkOperator(ctx, f.Name, f.Operator, ['Equals', 'In']);
            all = all.filter((t) => f.Values.includes(t.sourceLocationArn) || f.Values.includes(t.destinationLocationArn));
          } else if (f.Name === 'CreationTime') {
            checkOperator(ctx, f.Name, f.Operator, ['Equals', 'GreaterThan', 'GreaterThanOrEqual', 'LessThan', 'LessThanOrEqual']);
            all = all.filter((t) => matchTime(t.createdAtMs, f.Operator, f.Values));
          } else {
            throw invalid(ctx, `Unsupported filter name ${f.Name}.`);
          }
        }
        const page = paginate(all, input.NextToken, input.MaxResults || 100, () => invalid(ctx, 'Invalid NextToken.'));
        return {
          Tasks: page.items.map((t) => ({ TaskArn: t.arn, Status: taskStatus(ctx, t).status, ...(t.name !== undefined ? { Name: t.name } : {}), TaskMode: t.taskMode ?? 'BASIC' })),
          ...(page.next ? { NextToken: page.next } : {}),
        };
      },
    }),
    DeleteTask: operation({
      input: z.object({ TaskArn: pattern(TASK_ARN) }),
      handler(input, ctx: Ctx) {
        const t = task(ctx, input.TaskArn);
        const live = liveExecutionOf(ctx, t.arn);
        if (live) throw invalid(ctx, `Task ${t.arn} cannot be deleted while its execution ${live.rec.arn} is running (${live.view.status}); cancel it first.`);
        ctx.state.tasks.delete(t.arn);
        ctx.state.tags.delete(t.arn);
        // Its executions go with it, as in DataSync.
        for (const arn of t.executionArns) {
          ctx.state.executions.delete(arn);
          ctx.state.tags.delete(arn);
          ctx.jobs.remove(EXECUTION_KIND, arn);
        }
        ctx.state.stats.tasksDeleted += 1;
        return {};
      },
    }),
    StartTaskExecution: operation({
      input: z.object({
        TaskArn: pattern(TASK_ARN),
        OverrideOptions: optionsSchema.optional(),
        Includes: filterRules,
        Excludes: filterRules,
        Tags: tagList,
      }),
      handler(input, ctx: Ctx) {
        const { state } = ctx;
        const t = task(ctx, input.TaskArn);
        const options = mergeOptions(ctx, t.options, input.OverrideOptions);
        const live = liveExecutionOf(ctx, t.arn);
        if (live && options.TaskQueueing === 'DISABLED') {
          throw invalid(ctx, `Task ${t.arn} already has an execution in progress (${live.rec.arn}) and TaskQueueing is DISABLED.`);
        }
        const arn = `${t.arn}/execution/exec-${newId('', 17)}`;
        const rec: Execution = {
          arn,
          taskArn: t.arn,
          options,
          includes: input.Includes ?? t.includes ?? [],
          excludes: input.Excludes ?? t.excludes ?? [],
          startedAtMs: ctx.nowMs(),
          cancelled: false,
          queued: live !== undefined,
        };
        state.executions.set(arn, rec);
        t.executionArns.push(arn);
        // With TaskQueueing ENABLED (the default) a second execution waits QUEUED until the running one ends.
        if (!rec.queued) beginExecution(state, rec, ctx.jobs);
        setTags(ctx, arn, input.Tags);
        state.stats.executionsStarted += 1;
        const running = [...state.executions.values()].filter((e) => !viewExecution(ctx, e).ended).length;
        state.stats.maxRunningExecutions = Math.max(state.stats.maxRunningExecutions, running);
        return { TaskExecutionArn: arn };
      },
    }),
    DescribeTaskExecution: operation({
      input: z.object({ TaskExecutionArn: pattern(EXECUTION_ARN) }),
      handler(input, ctx: Ctx) {
        const rec = execution(ctx, input.TaskExecutionArn);
        const v = viewExecution(ctx, rec);
        const plan = rec.plan;
        const figures = rec.figures;
        const d = (status: string) => v.durations[status] ?? 0;
        // TotalDuration is how long it ran: from LaunchTime, so time spent queued behind another execution is not counted.
        const total = v.launchedAtMs === undefined ? 0 : (v.endedAtMs ?? ctx.nowMs()) - v.launchedAtMs;
        return {
          TaskExecutionArn: rec.arn,
          Status: v.status,
          Options: rec.options,
          Excludes: rec.excludes,
          Includes: rec.includes,
          StartTime: new Date(rec.startedAtMs),
          EstimatedFilesToTransfer: plan ? plan.copies.filter((c) => c.type === 'file').length : 0,
          EstimatedBytesToTransfer: plan ? plan.copies.reduce((n, c) => n + (c.withData ? c.size : 0), 0) : 0,
          FilesTransferred: figures?.filesTransferred ?? 0,
          BytesWritten: figures?.bytesWritten ?? 0,
          BytesTransferred: figures?.bytesWritten ?? 0,
          BytesCompressed: figures?.bytesWritten ?? 0,
          Result: {
            PrepareDuration: d('PREPARING'),
            PrepareStatus: v.phaseStatus.prepare,
            TotalDuration: Math.max(0, total),
            TransferDuration: d('TRANSFERRING'),
            TransferStatus: v.phaseStatus.transfer,
            VerifyDuration: d('VERIFYING'),
            VerifyStatus: v.phaseStatus.verify,
            ...(v.errorCode !== undefined ? { ErrorCode: v.errorCode, ErrorDetail: v.errorDetail } : {}),
          },
          FilesDeleted: figures?.filesDeleted ?? 0,
          FilesSkipped: plan?.filesSkipped ?? 0,
          FilesVerified: rec.filesVerified ?? 0,
          EstimatedFilesToDelete: plan ? plan.deletions.filter((x) => x.type === 'file').length : 0,
          TaskMode: 'BASIC',
          FilesPrepared: plan?.filesAtSource ?? 0,
          FilesListed: { AtSource: plan?.filesAtSource ?? 0, AtDestinationForDelete: plan?.filesAtDestinationForDelete ?? 0 },
          FilesFailed: { Prepare: 0, Transfer: 0, Verify: 0, Delete: 0 },
          EstimatedFoldersToDelete: plan ? plan.deletions.filter((x) => x.type === 'directory').length : 0,
          EstimatedFoldersToTransfer: plan ? plan.copies.filter((c) => c.type === 'directory' && c.relative !== '').length : 0,
          FoldersSkipped: plan?.foldersSkipped ?? 0,
          FoldersPrepared: plan?.foldersAtSource ?? 0,
          FoldersTransferred: figures?.foldersTransferred ?? 0,
          FoldersVerified: 0,
          FoldersDeleted: figures?.foldersDeleted ?? 0,
          FoldersListed: { AtSource: plan?.foldersAtSource ?? 0, AtDestinationForDelete: 0 },
          FoldersFailed: { List: 0, Prepare: 0, Transfer: 0, Verify: 0, Delete: 0 },
          ...(v.launchedAtMs !== undefined ? { LaunchTime: new Date(v.launchedAtMs) } : {}),
          ...(v.endedAtMs !== undefined ? { EndTime: new Date(v.endedAtMs) } : {}),
        };
      },
    }),
    ListTaskExecutions: operation({
      input: z.object({ TaskArn: pattern(TASK_ARN).optional(), ...listInput }),
      handler(input, ctx: Ctx) {
        const all =
          input.TaskArn !== undefined
            ? task(ctx, input.TaskArn).executionArns.map((arn) => ctx.state.executions.get(arn) as Execution)
            : [...ctx.state.executions.values()];
        const page = paginate(all, input.NextToken, input.MaxResults || 100, () => invalid(ctx, 'Invalid NextToken.'));
        return {
          TaskExecutions: page.items.map((e) => ({ TaskExecutionArn: e.arn, Status: viewExecution(ctx, e).status, TaskMode: 'BASIC' })),
          ...(page.next ? { NextToken: page.next } : {}),
        };
      },
    }),
    CancelTaskExecution: operation({
      input: z.object({ TaskExecutionArn: pattern(EXECUTION_ARN) }),
      handler(input, ctx: Ctx) {
        const rec = execution(ctx, input.TaskExecutionArn);
        const v = viewExecution(ctx, rec);
        if (v.ended) throw invalid(ctx, `Task execution ${rec.arn} has already finished (${v.status}) and cannot be cancelled.`);
        if (v.status === 'CANCELLING') throw invalid(ctx, `Task execution ${rec.arn} is already being cancelled.`);
        rec.cancelled = true;
        if (rec.queued) rec.failure = { atMs: ctx.nowMs(), phase: 'QUEUED', code: 'OperationCanceled', detail: 'The task execution was cancelled.' };
        else ctx.jobs.stop(EXECUTION_KIND, rec.arn);
        ctx.state.executions.set(rec.arn, rec);
        return {};
      },
    }),
    TagResource: operation({
      input: z.object({ ResourceArn: z.string().max(128), Tags: z.array(z.object({ Key: z.string().min(1).max(256), Value: z.string().max(256).optional() })).max(50) }),
      handler(input, ctx: Ctx) {
        const arn = input.ResourceArn;
        if (!ctx.state.locations.has(arn) && !ctx.state.tasks.has(arn) && !ctx.state.executions.has(arn)) throw invalid(ctx, `Resource ${arn} is not found.`);
        setTags(ctx, arn, input.Tags);
        return {};
      },
    }),
    UntagResource: operation({
      input: z.object({ ResourceArn: z.string().max(128), Keys: z.array(z.string().min(1).max(256)).min(1).max(50) }),
      handler(input, ctx: Ctx) {
        const arn = input.ResourceArn;
        if (!ctx.state.locations.has(arn) && !ctx.state.tasks.has(arn) && !ctx.state.executions.has(arn)) throw invalid(ctx, `Resource ${arn} is not found.`);
        ctx.state.tags.set(arn, (ctx.state.tags.get(arn) ?? []).filter((t) => !input.Keys.includes(t.Key)));
        return {};
      },
    }),
    ListTagsForResource: operation({
      input: z.object({ ResourceArn: z.string().max(128), ...listInput }),
      handler(input, ctx: Ctx) {
        const arn = input.ResourceArn;
        if (!ctx.state.locations.has(arn) && !ctx.state.tasks.has(arn) && !ctx.state.executions.has(arn)) throw invalid(ctx, `Resource ${arn} is not found.`);
        const page = paginate(ctx.state.tags.get(arn) ?? [], input.NextToken, input.MaxResults || 100, () => invalid(ctx, 'Invalid NextToken.'));
        return { Tags: page.items, ...(page.next ? { NextToken: page.next } : {}) };
      },
    }),
  },
  control: [
    {
      method: 'GET',
      path: '/stats',
      description: 'live tasks and locations now, their high-water marks, executions, quota refusals',
      handler: (_req, ctx) => {
        const executions = [...ctx.state.executions.values()].map((e) => viewExecution(ctx, e).status);
        const byStatus: Record<string, number> = {};
        for (const s of executions) byStatus[s] = (byStatus[s] ?? 0) + 1;
        return {
          liveTasks: ctx.state.tasks.size,
          liveLocations: ctx.state.locations.size,
          runningExecutions: executions.filter((s) => s !== 'SUCCESS' && s !== 'ERROR').length,
          executionsByStatus: byStatus,
          tasksPerRegionQuota: ctx.state.settings.tasksPerRegion,
          ...ctx.state.stats,
        };
      },
    },
    {
      method: 'POST',
      path: '/stats/reset',
      description: 'starts the counters, high-water marks and the ended executions again from what exists now',
      handler: (_req, ctx) => {
        ctx.state.stats = { ...emptyStats(), maxLiveTasks: ctx.state.tasks.size, maxLiveLocations: ctx.state.locations.size };
        ctx.state.endedExecutions = [];
        return ctx.state.stats;
      },
    },
    {
      method: 'GET',
      path: '/ended-executions',
      description: 'every execution that ended since start or the last stats reset (kept after its task is deleted): arn, taskArn, status, startedAtMs, launchedAtMs, endedAtMs',
      handler: (_req, ctx) => ({ executions: ctx.state.endedExecutions ?? [] }),
    },
    {
      method: 'GET',
      path: '/settings',
      description: 'the tasks-per-region quota and whether location creation checks NFS access',
      handler: (_req, ctx) => ctx.state.settings,
    },
    {
      method: 'PUT',
      path: '/settings',
      description: 'changes { tasksPerRegion?, checkNetworkAccess? }',
      handler: (req, ctx) => {
        const parsed = z.object({ tasksPerRegion: z.number().int().nonnegative().optional(), checkNetworkAccess: z.boolean().optional() }).strict().safeParse(req.body ?? {});
        if (!parsed.success) throw ctx.error('BadRequest', parsed.error.issues[0]?.message ?? 'invalid body');
        Object.assign(ctx.state.settings, parsed.data);
        return ctx.state.settings;
      },
    },
    {
      method: 'GET',
      path: '/locations',
      description: 'every location with its file system and subdirectory',
      handler: (_req, ctx) => ({
        locations: [...ctx.state.locations.values()].map((l) => ({
          locationArn: l.arn,
          locationUri: l.uri,
          fileSystemId: l.fileSystemId,
          fileSystemArn: fileSystemArn({ region: l.region, accountId: ctx.accountId, fileSystemId: l.fileSystemId }),
          subdirectory: l.subdirectory,
          securityGroupIds: l.securityGroupIds,
          tags: ctx.state.tags.get(l.arn) ?? [],
        })),
      }),
    },
  ],
});
