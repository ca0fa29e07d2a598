/**
 * EFS file systems and mount targets, shared by the EFS API (its own handlers), SageMaker (each domain's home
 * file system) and DataSync (which reads and writes the trees). Each file system holds a real file tree.
 */
import { newId } from '../../service';
import type { Ec2Store, SecurityGroup } from '../ec2/store';
import { StoreError } from './errors';
import { FileTree } from './file-tree';

export interface FileSystem {
  fileSystemId: string;
  region: string;
  accountId: string;
  creationToken: string;
  createdAtMs: number;
  encrypted: boolean;
  kmsKeyId?: string;
  performanceMode: string;
  throughputMode: string;
  tags: { Key: string; Value: string }[];
  tree: FileTree;
}

export interface MountTarget {
  mountTargetId: string;
  fileSystemId: string;
  subnetId: string;
  vpcId: string;
  azLetter: string;
  ipAddress: string;
  networkInterfaceId: string;
  securityGroups: string[];
}

export function fileSystemArn(fs: Pick<FileSystem, 'region' | 'accountId' | 'fileSystemId'>): string {
  return `arn:aws:elasticfilesystem:${fs.region}:${fs.accountId}:file-system/${fs.fileSystemId}`;
}

/** `arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123` -> `fs-0123`. */
export function fileSystemIdFromArn(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:elasticfilesystem:[a-z0-9-]+:\d{12}:file-system\/(fs-[0-9a-f]+)$/.exec(arn)?.[1];
}

export class EfsStore {
  readonly fileSystems = new Map<string, FileSystem>();
  readonly mountTargets = new Map<string, MountTarget>();

  constructor(private readonly ec2: Ec2Store) {}

  fileSystem(fileSystemId: string): FileSystem {
    const fs = this.fileSystems.get(fileSystemId);
    if (!fs) throw new StoreError('FileSystemNotFound', `File system '${fileSystemId}' does not exist.`, 404);
    return fs;
  }

  createFileSystem(
    input: { creationToken: string; encrypted?: boolean; kmsKeyId?: string; performanceMode?: string; throughputMode?: string; tags?: { Key: string; Value: string }[] },
    where: { region: string; accountId: string; nowMs: number },
  ): FileSystem {
    for (const fs of this.fileSystems.values()) {
      if (fs.creationToken === input.creationToken) {
        throw new StoreError('FileSystemAlreadyExists', `File system '${fs.fileSystemId}' already exists with creation token '${input.creationToken}'`, 409, { FileSystemId: fs.fileSystemId });
      }
    }
    const fs: FileSystem = {
      fileSystemId: newId('fs-', 17),
      region: where.region,
      accountId: where.accountId,
      creationToken: input.creationToken,
      createdAtMs: where.nowMs,
      encrypted: input.encrypted ?? false,
      ...(input.kmsKeyId ? { kmsKeyId: input.kmsKeyId } : {}),
      performanceMode: input.performanceMode ?? 'generalPurpose',
      throughputMode: input.throughputMode ?? 'bursting',
      tags: input.tags ?? [],
      tree: new FileTree(where.nowMs),
    };
    this.fileSystems.set(fs.fileSystemId, fs);
    return fs;
  }

  deleteFileSystem(fileSystemId: string): void {
    this.fileSystem(fileSystemId);
    if (this.mountTargetsOf(fileSystemId).length > 0) {
      throw new StoreError('FileSystemInUse', `File system '${fileSystemId}' has mount targets and cannot be deleted.`, 409);
    }
    this.fileSystems.delete(fileSystemId);
  }

  mountTargetsOf(fileSystemId: string): MountTarget[] {
    return [...this.mountTargets.values()].filter((mt) => mt.fileSystemId === fileSystemId);
  }

  mountTarget(mountTargetId: string): MountTarget {
    const mt = this.mountTargets.get(mountTargetId);
    if (!mt) throw new StoreError('MountTargetNotFound', `Mount target '${mountTargetId}' does not exist.`, 404);
    return mt;
  }

  /** One mount target per availability zone, all in one VPC, as EFS requires. */
  createMountTarget(input: { fileSystemId: string; subnetId: string; securityGroups?: string[]; ipAddress?: string }): MountTarget {
    this.fileSystem(input.fileSystemId);
    const subnet = this.ec2.subnets.get(input.subnetId);
    if (!subnet) throw new StoreError('SubnetNotFound', `The subnet ID '${input.subnetId}' does not exist`, 400);
    const existing = this.mountTargetsOf(input.fileSystemId);
    if (existing.some((mt) => mt.vpcId !== subnet.vpcId)) {
      throw new StoreError('MountTargetConflict', `Mount targets of file system '${input.fileSystemId}' must all be in one VPC`, 409);
    }
    if (existing.some((mt) => mt.azLetter === subnet.azLetter)) {
      throw new StoreError('MountTargetConflict', 'mount target already exists in this AZ', 409);
    }
    let groups = input.securityGroups ?? [];
    if (groups.length > 5) throw new StoreError('SecurityGroupLimitExceeded', 'The maximum number of security groups per mount target is 5.', 400);
    if (groups.length === 0) {
      const fallback = [...this.ec2.securityGroups.values()].find((sg) => sg.vpcId === subnet.vpcId && sg.groupName === 'default');
      groups = fallback ? [fallback.groupId] : [];
    }
    for (const g of groups) {
      const sg: SecurityGroup | undefined = this.ec2.securityGroups.get(g);
      if (!sg || sg.vpcId !== subnet.vpcId) throw new StoreError('SecurityGroupNotFound', `Security group '${g}' does not exist in VPC '${subnet.vpcId}'`, 400);
    }
    const octets = subnet.cidrBlock.split('/')[0]?.split('.') ?? ['10', '0', '0', '0'];
    const mt: MountTarget = {
      mountTargetId: newId('fsmt-', 17),
      fileSystemId: input.fileSystemId,
      subnetId: subnet.subnetId,
      vpcId: subnet.vpcId,
      azLetter: subnet.azLetter,
      ipAddress: input.ipAddress ?? `${octets[0]}.${octets[1]}.${Number(octets[2]) + Math.floor(Math.random() * 15)}.${4 + Math.floor(Math.random() * 250)}`,
      networkInterfaceId: newId('eni-', 17),
      securityGroups: groups,
    };
    this.mountTargets.set(mt.mountTargetId, mt);
    return mt;
  }

  deleteMountTarget(mountTargetId: string): void {
    this.mountTarget(mountTargetId);
    this.mountTargets.delete(mountTargetId);
  }
}
