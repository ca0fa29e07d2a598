/**
 * Status lifecycles of Studio resources (default durations close to what AWS shows; scenarios override them per
 * resource id, see ../efs/CONTROL.md) and their side effects: an app that comes InService creates its owner's home
 * directory on the domain's file system; a finished deletion forgets the resource, and a domain deleted with
 * `RetentionPolicy.HomeEfsFileSystem = Delete` takes its file system, mount targets and security groups with it.
 */
import type { LifecycleDefinition, TransitionContext } from '../../jobs';
import { HOME_GID, type SageMakerState } from './state';

function state(ctx: TransitionContext): SageMakerState {
  return ctx.state as SageMakerState;
}

export const domainCreation: LifecycleDefinition = {
  kind: 'domain',
  phases: [{ status: 'Pending', durationMs: 4 * 60_000 }],
  succeeded: 'InService',
  failed: 'Failed',
};

export const domainDeletion: LifecycleDefinition = {
  kind: 'domain-deletion',
  phases: [{ status: 'Deleting', durationMs: 3 * 60_000 }],
  succeeded: 'Deleted',
  failed: 'Delete_Failed',
  onTransition(job, ctx) {
    if (job.status !== 'Deleted') return;
    const s = state(ctx);
    const domainId = String(job.data.domainId);
    const domain = s.domains.get(domainId);
    if (!domain || domain.rid !== job.id) return;
    s.domains.delete(domainId);
    if (domain.retainHomeEfs) return;
    const { efs, ec2 } = s.world;
    for (const mt of efs.mountTargetsOf(domain.homeEfsFileSystemId)) efs.mountTargets.delete(mt.mountTargetId);
    efs.fileSystems.delete(domain.homeEfsFileSystemId);
    // The outbound group is referenced by the inbound one's rule: delete the referencing group first.
    for (const sg of [domain.inboundNfsSecurityGroupId, domain.outboundNfsSecurityGroupId]) {
      const inUse = [...efs.mountTargets.values()].some((mt) => mt.securityGroups.includes(sg));
      if (!inUse && ec2.securityGroups.has(sg)) {
        try {
          ec2.deleteSecurityGroup(sg);
        } catch {
          // Still referenced by a rule someone added: AWS leaves such a group behind as well.
        }
      }
    }
  },
};

export const userProfileCreation: LifecycleDefinition = {
  kind: 'user-profile',
  phases: [{ status: 'Pending', durationMs: 10_000 }],
  succeeded: 'InService',
  failed: 'Failed',
};

export const spaceCreation: LifecycleDefinition = { ...userProfileCreation, kind: 'space' };

function forgetOwner(job: { id: string; status: string; data: Record<string, unknown> }, ctx: TransitionContext): void {
  if (job.status !== 'Deleted') return;
  const s = state(ctx);
  const key = String(job.data.key);
  if (s.owners.get(key)?.rid === job.id) s.owners.delete(key);
}

export const userProfileDeletion: LifecycleDefinition = {
  kind: 'user-profile-deletion',
  phases: [{ status: 'Deleting', durationMs: 30_000 }],
  succeeded: 'Deleted',
  failed: 'Delete_Failed',
  onTransition: forgetOwner,
};

export const spaceDeletion: LifecycleDefinition = { ...userProfileDeletion, kind: 'space-deletion' };

export const appCreation: LifecycleDefinition = {
  kind: 'app',
  phases: [{ status: 'Pending', durationMs: 90_000 }],
  succeeded: 'InService',
  failed: 'Failed',
  onTransition(job, ctx) {
    if (job.status !== 'InService') return;
    const s = state(ctx);
    const app = s.apps.get(String(job.data.appKey));
    if (!app || app.rid !== job.id || app.deleting) return;
    const domain = s.domains.get(app.domainId);
    const fs = domain ? s.world.efs.fileSystems.get(domain.homeEfsFileSystemId) : undefined;
    if (!fs) return;
    // Studio mounts /<HomeEfsFileSystemUid> as the home directory, owned by that uid.
    fs.tree.mkdirp(`/${app.homeUid}`, { uid: Number(app.homeUid), gid: HOME_GID, mode: 0o755 }, ctx.nowMs());
  },
};

export const appDeletion: LifecycleDefinition = {
  kind: 'app-deletion',
  phases: [{ status: 'Deleting', durationMs: 60_000 }],
  succeeded: 'Deleted',
  failed: 'Failed',
};

