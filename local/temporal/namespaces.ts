/** Namespaces: registration, description, and the runs each holds (by run id and latest run per workflow id). */
import { randomUUID } from 'node:crypto';
import { ServiceError, invalidArgument, namespaceNotFound } from './errors';
import { durationFromMs } from './time-format';
import type { WorkflowRun } from './workflow-run';
import type { SearchAttributeType } from './visibility/types';
import { DEFAULT_BLOB_LIMITS, type BlobLimits } from './blob-limits';

export class NamespaceState {
  readonly runs = new Map<string, WorkflowRun>();
  /** The newest run of each workflow id: what start policies and calls without a run id look at. */
  readonly latestRun = new Map<string, WorkflowRun>();
  readonly customSearchAttributes = new Map<string, SearchAttributeType>();

  constructor(
    readonly name: string,
    public retentionMs: number,
    public description = '',
    public ownerEmail = '',
    public data: Record<string, string> = {},
    /** kept across restarts: history events name it */
    readonly id: string = randomUUID(),
    /** the server's size limits, which the namespace reports */
    readonly limits: BlobLimits = DEFAULT_BLOB_LIMITS,
  ) {}

  describe(): object {
    return {
      namespaceInfo: {
        name: this.name,
        state: 'NAMESPACE_STATE_REGISTERED',
        description: this.description,
        ownerEmail: this.ownerEmail,
        data: this.data,
        id: this.id,
        capabilities: { syncUpdate: true, asyncUpdate: true },
        limits: { blobSizeLimitError: this.limits.blobSizeErrorBytes, memoSizeLimitError: this.limits.memoSizeErrorBytes },
      },
      config: {
        workflowExecutionRetentionTtl: durationFromMs(this.retentionMs),
        historyArchivalState: 'ARCHIVAL_STATE_DISABLED',
        visibilityArchivalState: 'ARCHIVAL_STATE_DISABLED',
      },
      replicationConfig: { activeClusterName: 'active', clusters: [{ clusterName: 'active' }], state: 'REPLICATION_STATE_NORMAL' },
      isGlobalNamespace: false,
    };
  }
}

export class Namespaces {
  private readonly byName = new Map<string, NamespaceState>();
  /** Told when a namespace is registered or its settings or search attributes change (the state file). */
  onChange?: () => void;

  constructor(
    private readonly defaultRetentionMs: number,
    readonly limits: BlobLimits = DEFAULT_BLOB_LIMITS,
  ) {}

  register(name: string, retentionMs?: number, description?: string, ownerEmail?: string, data?: Record<string, string>, id?: string): NamespaceState {
    if (!name) throw invalidArgument('Namespace is not set on request.');
    if (this.byName.has(name)) throw new ServiceError(6, `Namespace already exists.`, { typeName: 'temporal.api.errordetails.v1.NamespaceAlreadyExistsFailure', value: {} });
    const ns = new NamespaceState(name, retentionMs || this.defaultRetentionMs, description, ownerEmail, data, id, this.limits);
    this.byName.set(name, ns);
    this.changed();
    return ns;
  }

  changed(): void {
    this.onChange?.();
  }

  get(name: string | undefined): NamespaceState {
    if (!name) throw invalidArgument('Namespace not set on request.');
    const ns = this.byName.get(name);
    if (!ns) throw namespaceNotFound(name);
    return ns;
  }

  find(name: string): NamespaceState | undefined {
    return this.byName.get(name);
  }

  byId(id: string): NamespaceState | undefined {
    for (const ns of this.byName.values()) if (ns.id === id) return ns;
    return undefined;
  }

  all(): NamespaceState[] {
    return [...this.byName.values()];
  }
}
