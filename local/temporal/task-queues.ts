/**
 * Matching: task queues that pair pending tasks with waiting long-poll calls. A task is stored as a function that
 * builds the poll response at hand-off time, because the response (and, for workflow tasks, the WorkflowTaskStarted
 * event) must reflect the state at that moment; it returns undefined when the task went stale meanwhile (workflow
 * closed, activity cancelled), and the queue moves on to the next one.
 */
/** Who took the task: the identity goes into the started event. */
export interface PollerInfo {
  identity: string;
  /**
   * The worker deployment version a versioned worker polls for ("deploymentName.buildId"), absent for an
   * unversioned worker: a task of a versioned queue only goes to pollers of the version it is routed to.
   */
  version?: string;
  /** The worker instance polling (PollRequest.workerInstanceKey), so ShutdownWorker can answer its polls. */
  instanceKey?: string;
}

/** Whether a task may go to this poller now (worker versioning); a task no waiting poller accepts stays queued. */
export type TaskFilter = (poller: PollerInfo) => boolean;

export type TaskSource<T> = (poller: PollerInfo) => T | undefined;

interface QueuedTask<T> {
  take: TaskSource<T>;
  /** True once the task can no longer be handed out; such entries are pruned from queues nobody polls. */
  isStale: () => boolean;
  accepts?: TaskFilter;
}

interface Poller<T> {
  info: PollerInfo;
  deliver(task: T): void;
}

class TaskQueueState<T> {
  tasks: QueuedTask<T>[] = [];
  readonly pollers: Poller<T>[] = [];
}

export type QueueKind = 'workflow' | 'activity';

/** How long a poller counts as present after its last poll (the real server's poller history keeps 5 minutes). */
const POLLER_MEMORY_MS = 5 * 60_000;

export interface RecentPoller {
  identity: string;
  /** Server time of its last poll (now for one waiting right now). */
  lastAccessMs: number;
}

export class TaskQueues<T> {
  private readonly queues = new Map<string, TaskQueueState<T>>();
  /** Per queue key: identity -> server time of its last poll, for DescribeTaskQueue. */
  private readonly lastPolls = new Map<string, Map<string, number>>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Who polled the queue within the last 5 minutes, or is polling it now. */
  recentPollers(namespace: string, kind: QueueKind, name: string): RecentPoller[] {
    const key = this.key(namespace, kind, name);
    const now = this.now();
    const seen = new Map(this.lastPolls.get(key) ?? []);
    for (const p of this.queues.get(key)?.pollers ?? []) seen.set(p.info.identity, now);
    return [...seen]
      .filter(([, at]) => now - at <= POLLER_MEMORY_MS)
      .map(([identity, lastAccessMs]) => ({ identity, lastAccessMs }))
      .sort((a, b) => b.lastAccessMs - a.lastAccessMs);
  }

  private recordPoll(key: string, identity: string): void {
    const now = this.now();
    let polls = this.lastPolls.get(key);
    if (!polls) {
      polls = new Map();
      this.lastPolls.set(key, polls);
    }
    polls.set(identity, now);
    // Bounded memory: identities gone quiet are forgotten (workers restart with new identities).
    if (polls.size > 64) for (const [id, at] of polls) if (now - at > POLLER_MEMORY_MS) polls.delete(id);
  }

  private key(namespace: string, kind: QueueKind, name: string): string {
    return `${namespace}\u0000${kind}\u0000${name}`;
  }

  private queue(key: string): TaskQueueState<T> {
    let q = this.queues.get(key);
    if (!q) {
      q = new TaskQueueState<T>();
      this.queues.set(key, q);
    }
    return q;
  }

  private dropIfEmpty(key: string, q: TaskQueueState<T>): void {
    if (q.tasks.length === 0 && q.pollers.length === 0) this.queues.delete(key);
  }

  add(namespace: string, kind: QueueKind, name: string, source: TaskSource<T>, isStale: () => boolean, accepts?: TaskFilter): void {
    const key = this.key(namespace, kind, name);
    const q = this.queue(key);
    const queued: QueuedTask<T> = { take: source, isStale, accepts };
    if (!this.handToWaitingPoller(q, queued)) q.tasks.push(queued);
    this.dropIfEmpty(key, q);
  }

  /** Gives the task to the first waiting poller it accepts; false if none took it (stale tasks count as taken). */
  private handToWaitingPoller(q: TaskQueueState<T>, queued: QueuedTask<T>): boolean {
    const i = q.pollers.findIndex((p) => !queued.accepts || queued.accepts(p.info));
    if (i < 0) return false;
    const poller = q.pollers[i];
    const task = queued.take(poller.info);
    if (task === undefined) return true; // went stale: dropped, as a task nobody can take
    q.pollers.splice(i, 1);
    poller.deliver(task);
    return true;
  }

  /**
   * Routing changed (a worker deployment's current or ramping version): tasks that waited for a poller of another
   * version are matched again against the pollers waiting now.
   */
  rematch(namespace: string): void {
    const prefix = `${namespace}\u0000`;
    for (const [key, q] of this.queues) {
      if (!key.startsWith(prefix) || q.pollers.length === 0) continue;
      q.tasks = q.tasks.filter((t) => !t.isStale() && !this.handToWaitingPoller(q, t));
      this.dropIfEmpty(key, q);
    }
  }

  /**
   * Takes the first live task, or waits for one. `onAbandon` registration lets the caller remove the poller when its
   * gRPC call is cancelled or about to hit its deadline, so no task is handed to a gone poller.
   */
  poll(namespace: string, kind: QueueKind, name: string, info: PollerInfo, abandon: (cancel: () => void) => void): Promise<T | undefined> {
    const key = this.key(namespace, kind, name);
    this.recordPoll(key, info.identity);
    const q = this.queue(key);
    for (let i = 0; i < q.tasks.length; ) {
      const queued = q.tasks[i];
      if (queued.accepts && !queued.accepts(info) && !queued.isStale()) {
        i++;
        continue;
      }
      q.tasks.splice(i, 1);
      const task = queued.take(info);
      if (task !== undefined) {
        this.dropIfEmpty(key, q);
        return Promise.resolve(task);
      }
    }
    return new Promise<T | undefined>((resolve) => {
      let done = false;
      const poller: Poller<T> = {
        info,
        deliver: (task) => {
          done = true;
          resolve(task);
        },
      };
      q.pollers.push(poller);
      abandon(() => {
        if (done) return;
        done = true;
        const current = this.queues.get(key);
        if (current) {
          const i = current.pollers.indexOf(poller);
          if (i >= 0) current.pollers.splice(i, 1);
          this.dropIfEmpty(key, current);
        }
        resolve(undefined);
      });
    });
  }

  /** Wakes every poller of a queue with an empty answer (worker shutdown, server close). */
  releasePollers(namespace?: string, kind?: QueueKind, name?: string): void {
    const keys = namespace !== undefined && kind && name !== undefined ? [this.key(namespace, kind, name)] : [...this.queues.keys()];
    for (const key of keys) {
      const q = this.queues.get(key);
      if (!q) continue;
      const pollers = q.pollers.splice(0);
      for (const p of pollers) (p as Poller<T | undefined>).deliver(undefined);
      this.dropIfEmpty(key, q);
    }
  }

  /**
   * Answers empty the polls one worker instance has waiting on a queue (ShutdownWorker), so none of them is handed a
   * task the stopping worker would drop.
   */
  releasePollersOf(namespace: string, kind: QueueKind, name: string, instanceKey: string): void {
    const key = this.key(namespace, kind, name);
    const q = this.queues.get(key);
    if (!q) return;
    for (let i = q.pollers.length - 1; i >= 0; i--) {
      const p = q.pollers[i];
      if (p.info.instanceKey !== instanceKey) continue;
      q.pollers.splice(i, 1);
      (p as Poller<T | undefined>).deliver(undefined);
    }
    this.dropIfEmpty(key, q);
  }

  /** Drops tasks that went stale in queues nobody polls, so closed runs are not kept alive by them. */
  prune(): void {
    for (const [key, q] of this.queues) {
      q.tasks = q.tasks.filter((t) => !t.isStale());
      this.dropIfEmpty(key, q);
    }
  }
}
