/**
 * Amazon EFS (restJson1, `/2015-02-01/...`, signing name `elasticfilesystem`): file systems and mount targets, each
 * file system holding a real file tree that the control API reads and writes (CONTROL.md) and DataSync copies.
 */
import { z } from 'zod';
import { defineService, operation, type ControlRequest, type OperationContext, type ServiceContext } from '../../service';
import { StoreError } from './errors';
import { PathError, normalisePath, view } from './file-tree';
import { paginate } from './pages';
import { fileSystemArn, type FileSystem, type MountTarget } from './store';
import { WORLD_CLASSES, worldOf, type World } from './world';

export interface EfsState {
  world: World;
}

type Ctx = ServiceContext<EfsState>;

/** Runs a store call, answering its StoreError as EFS does (code in the body's ErrorCode too). */
function efsCall<T>(ctx: Ctx, call: () => T): T {
  try {
    return call();
  } catch (err) {
    if (err instanceof StoreError) throw ctx.error(err.code, err.message, { httpStatus: err.httpStatus, fields: { ErrorCode: err.code, Message: err.message, ...err.fields } });
    if (err instanceof PathError) throw ctx.error(err.code === 'NotFound' ? 'NotFound' : 'BadRequest', err.message, { httpStatus: err.code === 'NotFound' ? 404 : 400 });
    throw err;
  }
}

function describeFileSystem(fs: FileSystem, world: World, nowMs: number) {
  const size = fs.tree.sizeInBytes();
  const nameTag = fs.tags.find((t) => t.Key === 'Name');
  return {
    OwnerId: fs.accountId,
    CreationToken: fs.creationToken,
    FileSystemId: fs.fileSystemId,
    FileSystemArn: fileSystemArn(fs),
    CreationTime: new Date(fs.createdAtMs),
    LifeCycleState: 'available',
    ...(nameTag ? { Name: nameTag.Value } : {}),
    NumberOfMountTargets: world.efs.mountTargetsOf(fs.fileSystemId).length,
    SizeInBytes: { Value: size, Timestamp: new Date(nowMs), ValueInIA: 0, ValueInStandard: size, ValueInArchive: 0 },
    PerformanceMode: fs.performanceMode,
    Encrypted: fs.encrypted,
    ...(fs.kmsKeyId ? { KmsKeyId: fs.kmsKeyId } : {}),
    ThroughputMode: fs.throughputMode,
    Tags: fs.tags,
    FileSystemProtection: { ReplicationOverwriteProtection: 'ENABLED' },
  };
}

function describeMountTarget(mt: MountTarget, fs: FileSystem) {
  return {
    OwnerId: fs.accountId,
    MountTargetId: mt.mountTargetId,
    FileSystemId: mt.fileSystemId,
    SubnetId: mt.subnetId,
    LifeCycleState: 'available',
    IpAddress: mt.ipAddress,
    NetworkInterfaceId: mt.networkInterfaceId,
    AvailabilityZoneId: `use1-az${'abc'.indexOf(mt.azLetter) + 1}`,
    AvailabilityZoneName: `${fs.region}${mt.azLetter}`,
    VpcId: mt.vpcId,
  };
}

const maxItems = z.coerce.number().int().min(1).optional();
const tag = z.object({ Key: z.string().min(1).max(128), Value: z.string().max(256) });

function invalidMarker(ctx: Ctx): () => Error {
  return () => ctx.error('BadRequest', 'The marker is not valid.', { fields: { ErrorCode: 'BadRequest' } });
}

const ownerFields = {
  mode: z.union([z.number().int(), z.string().regex(/^0?[0-7]{3,4}$/)]).optional(),
  uid: z.number().int().nonnegative().optional(),
  gid: z.number().int().nonnegative().optional(),
};

/** Control API: body of a file write. */
const fileWrite = z
  .object({ contentBase64: z.string().optional(), text: z.string().optional(), ...ownerFields, mtime: z.string().datetime().optional() })
  .strict()
  .refine((b) => (b.contentBase64 === undefined) !== (b.text === undefined), { message: 'give exactly one of contentBase64 and text' });

/** Control API: body of a directory creation. */
const directoryWrite = z.object(ownerFields).strict();

/** The file system, the normalised ?path= and the parsed body of a control request, or a 400 / 404 answer. */
function controlTarget<T>(ctx: Ctx, req: ControlRequest, body: z.ZodType<T>): { fs: FileSystem; path: string; body: T } {
  const fs = controlFileSystem(ctx, req.params.FileSystemId);
  const path = requiredPath(ctx, req.query.path);
  const parsed = body.safeParse(req.body ?? {});
  if (!parsed.success) throw ctx.error('BadRequest', parsed.error.issues[0]?.message ?? 'invalid body');
  return { fs, path, body: parsed.data };
}

function parseMode(mode: number | string | undefined, fallback: number): number {
  if (mode === undefined) return fallback;
  return typeof mode === 'number' ? mode : parseInt(mode, 8);
}

function controlFileSystem(ctx: Ctx, id: string | undefined): FileSystem {
  const fs = ctx.state.world.efs.fileSystems.get(id ?? '');
  if (!fs) throw ctx.error('NotFound', `no file system ${id ?? ''}`, { httpStatus: 404 });
  return fs;
}

function requiredPath(ctx: Ctx, path: string | undefined): string {
  if (!path) throw ctx.error('BadRequest', 'the path query parameter is required (e.g. ?path=/200001/notebook.ipynb)');
  try {
    return normalisePath(path);
  } catch (err) {
    throw ctx.error('BadRequest', (err as Error).message);
  }
}

export const efs = defineService<EfsState>({
  name: 'efs',
  protocol: 'restJson1',
  signingName: 'elasticfilesystem',
  arnService: 'elasticfilesystem',
  validationError: { code: 'BadRequest' },
  persistentClasses: WORLD_CLASSES,
  createState: (scope) => ({ world: worldOf(scope) }),
  operations: {
    CreateFileSystem: operation({
      http: { method: 'POST', path: '/2015-02-01/file-systems', status: 201 },
      input: z.looseObject({
        CreationToken: z.string().min(1).max(64),
        PerformanceMode: z.enum(['generalPurpose', 'maxIO']).optional(),
        Encrypted: z.boolean().optional(),
        KmsKeyId: z.string().optional(),
        ThroughputMode: z.enum(['bursting', 'provisioned', 'elastic']).optional(),
        Tags: z.array(tag).optional(),
      }),
      handler(input, ctx: OperationContext<EfsState>) {
        const fs = efsCall(ctx, () =>
          ctx.state.world.efs.createFileSystem(
            {
              creationToken: input.CreationToken,
              encrypted: input.Encrypted,
              kmsKeyId: input.KmsKeyId,
              performanceMode: input.PerformanceMode,
              throughputMode: input.ThroughputMode,
              tags: input.Tags,
            },
            { region: ctx.region, accountId: ctx.accountId, nowMs: ctx.nowMs() },
          ),
        );
        return describeFileSystem(fs, ctx.state.world, ctx.nowMs());
      },
    }),
    DescribeFileSystems: operation({
      http: { method: 'GET', path: '/2015-02-01/file-systems' },
      input: z.looseObject({ MaxItems: maxItems, Marker: z.string().optional(), CreationToken: z.string().optional(), FileSystemId: z.string().optional() }),
      handler(input, ctx: OperationContext<EfsState>) {
        const { world } = ctx.state;
        if (input.FileSystemId !== undefined && input.CreationToken !== undefined) {
          throw ctx.error('BadRequest', 'You can specify either FileSystemId or CreationToken, not both.', { fields: { ErrorCode: 'BadRequest' } });
        }
        let all: FileSystem[];
        if (input.FileSystemId !== undefined) {
          const id = input.FileSystemId;
          all = [efsCall(ctx, () => world.efs.fileSystem(id))];
        } else {
          all = [...world.efs.fileSystems.values()].filter((fs) => input.CreationToken === undefined || fs.creationToken === input.CreationToken);
        }
        const page = paginate(all, input.Marker, input.MaxItems ?? 100, invalidMarker(ctx));
        return {
          ...(input.Marker ? { Marker: input.Marker } : {}),
          FileSystems: page.items.map((fs) => describeFileSystem(fs, world, ctx.nowMs())),
          ...(page.next ? { NextMarker: page.next } : {}),
        };
      },
    }),
    DeleteFileSystem: operation({
      http: { method: 'DELETE', path: '/2015-02-01/file-systems/{FileSystemId}', status: 204 },
      input: z.looseObject({ FileSystemId: z.string().min(1) }),
      handler(input, ctx: OperationContext<EfsState>) {
        efsCall(ctx, () => ctx.state.world.efs.deleteFileSystem(input.FileSystemId));
        return {};
      },
    }),
    CreateMountTarget: operation({
      http: { method: 'POST', path: '/2015-02-01/mount-targets' },
      input: z.looseObject({
        FileSystemId: z.string().min(1),
        SubnetId: z.string().min(1),
        IpAddress: z.string().optional(),
        SecurityGroups: z.array(z.string()).optional(),
      }),
      handler(input, ctx: OperationContext<EfsState>) {
        const { efs: store } = ctx.state.world;
        const mt = efsCall(ctx, () =>
          store.createMountTarget({ fileSystemId: input.FileSystemId, subnetId: input.SubnetId, securityGroups: input.SecurityGroups, ipAddress: input.IpAddress }),
        );
        return describeMountTarget(mt, store.fileSystem(mt.fileSystemId));
      },
    }),
    DescribeMountTargets: operation({
      http: { method: 'GET', path: '/2015-02-01/mount-targets' },
      input: z.looseObject({
        MaxItems: maxItems,
        Marker: z.string().optional(),
        FileSystemId: z.string().optional(),
        MountTargetId: z.string().optional(),
        AccessPointId: z.string().optional(),
      }),
      handler(input, ctx: OperationContext<EfsState>) {
        const { efs: store } = ctx.state.world;
        const given = [input.FileSystemId, input.MountTargetId, input.AccessPointId].filter((v) => v !== undefined).length;
        if (given !== 1) {
          throw ctx.error('BadRequest', 'Must specify exactly one mutually exclusive parameter.', { fields: { ErrorCode: 'BadRequest' } });
        }
        if (input.AccessPointId !== undefined) {
          const id = input.AccessPointId;
          throw ctx.error('AccessPointNotFound', `Access point '${id}' does not exist.`, { httpStatus: 404, fields: { ErrorCode: 'AccessPointNotFound' } });
        }
        const { MountTargetId, FileSystemId } = input;
        let all: MountTarget[];
        if (MountTargetId !== undefined) {
          all = [efsCall(ctx, () => store.mountTarget(MountTargetId))];
        } else {
          const fs = efsCall(ctx, () => store.fileSystem(FileSystemId as string));
          all = store.mountTargetsOf(fs.fileSystemId);
        }
        const page = paginate(all, input.Marker, input.MaxItems ?? 10, invalidMarker(ctx));
        return {
          ...(input.Marker ? { Marker: input.Marker } : {}),
          MountTargets: page.items.map((mt) => describeMountTarget(mt, store.fileSystem(mt.fileSystemId))),
          ...(page.next ? { NextMarker: page.next } : {}),
        };
      },
    }),
    DescribeMountTargetSecurityGroups: operation({
      http: { method: 'GET', path: '/2015-02-01/mount-targets/{MountTargetId}/security-groups' },
      input: z.looseObject({ MountTargetId: z.string().min(1) }),
      handler(input, ctx: OperationContext<EfsState>) {
        const mt = efsCall(ctx, () => ctx.state.world.efs.mountTarget(input.MountTargetId));
        return { SecurityGroups: [...mt.securityGroups] };
      },
    }),
    ModifyMountTargetSecurityGroups: operation({
      http: { method: 'PUT', path: '/2015-02-01/mount-targets/{MountTargetId}/security-groups', status: 204 },
      input: z.looseObject({ MountTargetId: z.string().min(1), SecurityGroups: z.array(z.string()).optional() }),
      handler(input, ctx: OperationContext<EfsState>) {
        const { world } = ctx.state;
        const mt = efsCall(ctx, () => world.efs.mountTarget(input.MountTargetId));
        const groups = input.SecurityGroups ?? [];
        if (groups.length > 5) {
          throw ctx.error('SecurityGroupLimitExceeded', 'The maximum number of security groups per mount target is 5.', { fields: { ErrorCode: 'SecurityGroupLimitExceeded' } });
        }
        for (const g of groups) {
          const sg = world.ec2.securityGroups.get(g);
          if (!sg || sg.vpcId !== mt.vpcId) {
            throw ctx.error('SecurityGroupNotFound', `Security group '${g}' does not exist in VPC '${mt.vpcId}'`, { fields: { ErrorCode: 'SecurityGroupNotFound' } });
          }
        }
        mt.securityGroups = [...groups];
        return {};
      },
    }),
    DeleteMountTarget: operation({
      http: { method: 'DELETE', path: '/2015-02-01/mount-targets/{MountTargetId}', status: 204 },
      input: z.looseObject({ MountTargetId: z.string().min(1) }),
      handler(input, ctx: OperationContext<EfsState>) {
        efsCall(ctx, () => ctx.state.world.efs.deleteMountTarget(input.MountTargetId));
        return {};
      },
    }),
  },
  control: [
    {
      method: 'GET',
      path: '/file-systems',
      description: 'every file system with its size, file count and mount targets',
      handler: (_req, ctx) => ({
        fileSystems: [...ctx.state.world.efs.fileSystems.values()].map((fs) => ({
          fileSystemId: fs.fileSystemId,
          fileSystemArn: fileSystemArn(fs),
          creationToken: fs.creationToken,
          tags: fs.tags,
          sizeInBytes: fs.tree.sizeInBytes(),
          files: fs.tree.list('/').filter((e) => e.type === 'file').length,
          mountTargets: ctx.state.world.efs.mountTargetsOf(fs.fileSystemId).map((mt) => ({ mountTargetId: mt.mountTargetId, subnetId: mt.subnetId, securityGroups: mt.securityGroups })),
        })),
      }),
    },
    {
      method: 'GET',
      path: '/file-systems/{FileSystemId}/tree',
      description: 'entries (path, type, size, mode, uid, gid, mtime) whose path starts with ?prefix= (default /)',
      handler: (req, ctx) => {
        const fs = controlFileSystem(ctx, req.params.FileSystemId);
        return { fileSystemId: fs.fileSystemId, entries: fs.tree.list(req.query.prefix ?? '/') };
      },
    },
    {
      method: 'GET',
      path: '/file-systems/{FileSystemId}/files',
      description: 'one entry at ?path=, with its bytes as contentBase64 (files)',
      handler: (req, ctx) => {
        const fs = controlFileSystem(ctx, req.params.FileSystemId);
        const path = requiredPath(ctx, req.query.path);
        const entry = fs.tree.get(path);
        if (!entry) throw ctx.error('NotFound', `${path} does not exist in ${fs.fileSystemId}`, { httpStatus: 404 });
        return { ...view(path, entry), ...(entry.type === 'file' ? { contentBase64: entry.data.toString('base64') } : {}) };
      },
    },
    {
      method: 'PUT',
      path: '/file-systems/{FileSystemId}/files',
      description: 'writes a file at ?path= from { text | contentBase64, mode?, uid?, gid?, mtime? }; missing parents are created',
      handler: (req, ctx) => {
        const { fs, path, body: b } = controlTarget(ctx, req, fileWrite);
        const data = b.text !== undefined ? Buffer.from(b.text, 'utf8') : Buffer.from(b.contentBase64 as string, 'base64');
        const entry = efsCall(ctx, () =>
          fs.tree.writeFile(path, data, {
            mode: parseMode(b.mode, 0o644),
            uid: b.uid ?? 0,
            gid: b.gid ?? 0,
            mtimeMs: b.mtime ? Date.parse(b.mtime) : ctx.nowMs(),
          }),
        );
        return view(path, entry);
      },
    },
    {
      method: 'PUT',
      path: '/file-systems/{FileSystemId}/directories',
      description: 'creates the directory ?path= and missing parents from { mode?, uid?, gid? }',
      handler: (req, ctx) => {
        const { fs, path, body: b } = controlTarget(ctx, req, directoryWrite);
        const entry = efsCall(ctx, () => fs.tree.mkdirp(path, { uid: b.uid ?? 0, gid: b.gid ?? 0, mode: parseMode(b.mode, 0o755) }, ctx.nowMs()));
        return view(path, entry);
      },
    },
    {
      method: 'DELETE',
      path: '/file-systems/{FileSystemId}/files',
      description: 'removes the file or directory (with its contents) at ?path=',
      handler: (req, ctx) => {
        const fs = controlFileSystem(ctx, req.params.FileSystemId);
        const path = requiredPath(ctx, req.query.path);
        if (path === '/') throw ctx.error('BadRequest', 'the root directory cannot be removed');
        const removed = efsCall(ctx, () => fs.tree.remove(path));
        return { removed };
      },
    },
  ],
});
