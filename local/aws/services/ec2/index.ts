/**
 * Amazon EC2 (ec2Query), the part the recovery pipeline meets: security groups and their ingress / egress rules
 * (NFS from DataSync to the EFS mount targets), subnets and VPCs. Replies use EC2's wire names (lower camel case).
 */
import { defineService, type OperationContext } from '../../service';
import { StoreError } from '../efs/errors';
import { paginate } from '../efs/pages';
import { WORLD_CLASSES, worldOf, type World } from '../efs/world';
import type { PermissionInput, Rule, SecurityGroup, Subnet, Vpc } from './store';

export interface Ec2State {
  world: World;
}

type Ctx = OperationContext<Ec2State>;
type Input = Record<string, unknown>;

function ec2Call<T>(ctx: Ctx, call: () => T): T {
  try {
    return call();
  } catch (err) {
    if (err instanceof StoreError) throw ctx.error(err.code, err.message, { httpStatus: 400 });
    throw err;
  }
}

function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(ctx: Ctx, value: unknown, field: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw ctx.error('InvalidParameterValue', `Invalid value '${String(value)}' for ${field}.`);
  return n;
}

interface Filter {
  name: string;
  /** The filter's values as wildcard patterns, compiled once per request rather than per resource compared. */
  patterns: RegExp[];
}

function filters(input: Input): Filter[] {
  return list(input.Filter).map((f) => {
    const o = (f ?? {}) as Input;
    return { name: String(o.Name ?? ''), patterns: list(o.Value).map((v) => wildcard(String(v))) };
  });
}

function matchesFilters(ctx: Ctx, fs: readonly Filter[], attribute: (name: string) => string[] | undefined): boolean {
  return fs.every((f) => {
    const have = attribute(f.name);
    if (have === undefined) throw ctx.error('InvalidParameterValue', `The filter '${f.name}' is invalid`);
    return f.patterns.some((p) => have.some((h) => p.test(h)));
  });
}

function wildcard(pattern: string): RegExp {
  return new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
}

/** The API's IpPermissions (or the old flat parameters) as store permissions. */
function permissionsOf(ctx: Ctx, input: Input): PermissionInput[] {
  const perms = list(input.IpPermissions).map((raw) => {
    const p = (raw ?? {}) as Input;
    const protocol = str(p.IpProtocol);
    if (!protocol) throw ctx.error('MissingParameter', 'The request must contain the parameter ipPermissions.ipProtocol');
    return {
      protocol,
      fromPort: num(ctx, p.FromPort, 'fromPort'),
      toPort: num(ctx, p.ToPort, 'toPort'),
      cidrs: list(p.IpRanges).map((r) => ({ cidrIp: String((r as Input).CidrIp ?? ''), description: str((r as Input).Description) })),
      groups: list(p.Groups).map((g) => ({ groupId: String((g as Input).GroupId ?? ''), description: str((g as Input).Description) })),
    };
  });
  if (perms.length > 0) return perms;
  const protocol = str(input.IpProtocol);
  if (protocol && str(input.CidrIp)) {
    return [{ protocol, fromPort: num(ctx, input.FromPort, 'fromPort'), toPort: num(ctx, input.ToPort, 'toPort'), cidrs: [{ cidrIp: str(input.CidrIp) as string }], groups: [] }];
  }
  throw ctx.error('MissingParameter', 'The request must contain the parameter ipPermissions');
}

function defaultVpcId(world: World): string {
  return [...world.ec2.vpcs.values()].find((v) => v.isDefault)?.vpcId ?? '';
}

function groupOf(ctx: Ctx, world: World, input: Input): SecurityGroup {
  const id = str(input.GroupId);
  if (id) return ec2Call(ctx, () => world.ec2.securityGroup(id));
  const name = str(input.GroupName);
  if (!name) throw ctx.error('MissingParameter', 'The request must contain the parameter groupId or groupName');
  const sg = [...world.ec2.securityGroups.values()].find((g) => g.groupName === name && world.ec2.vpcs.get(g.vpcId)?.isDefault);
  if (!sg) throw ctx.error('InvalidGroup.NotFound', `The security group '${name}' does not exist in default VPC '${defaultVpcId(world)}'`);
  return sg;
}

function permissionsXml(rules: readonly Rule[], ownerId: string) {
  const byRange = new Map<string, Rule[]>();
  for (const r of rules) {
    const key = `${r.protocol}|${r.fromPort}|${r.toPort}`;
    byRange.set(key, [...(byRange.get(key) ?? []), r]);
  }
  return [...byRange.values()].map((rs) => {
    const first = rs[0] as Rule;
    return {
      ipProtocol: first.protocol,
      ...(first.protocol === '-1' ? {} : { fromPort: first.fromPort, toPort: first.toPort }),
      groups: rs.filter((r) => r.groupId).map((r) => ({ ...(r.description ? { description: r.description } : {}), userId: ownerId, groupId: r.groupId })),
      ipRanges: rs.filter((r) => r.cidrIp).map((r) => ({ ...(r.description ? { description: r.description } : {}), cidrIp: r.cidrIp })),
      ipv6Ranges: [],
      prefixListIds: [],
    };
  });
}

function securityGroupXml(ctx: Ctx, sg: SecurityGroup) {
  return {
    groupDescription: sg.description,
    groupName: sg.groupName,
    ipPermissions: permissionsXml(sg.ingress, ctx.accountId),
    ownerId: ctx.accountId,
    groupId: sg.groupId,
    ipPermissionsEgress: permissionsXml(sg.egress, ctx.accountId),
    tagSet: sg.tags.map((t) => ({ key: t.Key, value: t.Value })),
    vpcId: sg.vpcId,
    securityGroupArn: ctx.arn(`security-group/${sg.groupId}`),
  };
}

function ruleXml(ctx: Ctx, groupId: string, isEgress: boolean, r: Rule) {
  return {
    securityGroupRuleId: r.ruleId,
    groupId,
    groupOwnerId: ctx.accountId,
    isEgress,
    ipProtocol: r.protocol,
    fromPort: r.fromPort,
    toPort: r.toPort,
    ...(r.cidrIp ? { cidrIpv4: r.cidrIp } : {}),
    ...(r.groupId ? { referencedGroupInfo: { groupId: r.groupId, userId: ctx.accountId } } : {}),
    ...(r.description ? { description: r.description } : {}),
    securityGroupRuleArn: ctx.arn(`security-group-rule/${r.ruleId}`),
  };
}

function subnetXml(ctx: Ctx, s: Subnet) {
  return {
    availabilityZoneId: `use1-az${'abc'.indexOf(s.azLetter) + 1}`,
    mapCustomerOwnedIpOnLaunch: false,
    ownerId: ctx.accountId,
    assignIpv6AddressOnCreation: false,
    ipv6CidrBlockAssociationSet: [],
    subnetArn: ctx.arn(`subnet/${s.subnetId}`),
    enableDns64: false,
    ipv6Native: false,
    subnetId: s.subnetId,
    state: 'available',
    vpcId: s.vpcId,
    cidrBlock: s.cidrBlock,
    availableIpAddressCount: 4091,
    availabilityZone: `${ctx.region}${s.azLetter}`,
    defaultForAz: s.defaultForAz,
    mapPublicIpOnLaunch: s.defaultForAz,
  };
}

function vpcXml(ctx: Ctx, v: Vpc) {
  return {
    ownerId: ctx.accountId,
    instanceTenancy: 'default',
    cidrBlockAssociationSet: [{ associationId: `vpc-cidr-assoc-${v.vpcId.slice(4)}`, cidrBlock: v.cidrBlock, cidrBlockState: { state: 'associated' } }],
    isDefault: v.isDefault,
    vpcId: v.vpcId,
    state: 'available',
    cidrBlock: v.cidrBlock,
    dhcpOptionsId: 'dopt-0a1b2c3d4e5f60718',
  };
}

function maxResults(ctx: Ctx, input: Input, min: number): number {
  const n = num(ctx, input.MaxResults, 'MaxResults');
  if (n === undefined) return 1000;
  if (n < min || n > 1000) throw ctx.error('InvalidParameterValue', `Value ( ${n} ) for parameter maxResults is invalid. Expecting a value between ${min} and 1000.`);
  return n;
}

function invalidToken(ctx: Ctx): () => Error {
  return () => ctx.error('InvalidPaginationToken', 'The pagination token is invalid.');
}

export const ec2 = defineService<Ec2State>({
  name: 'ec2',
  protocol: 'ec2Query',
  apiVersion: '2016-11-15',
  xmlNamespace: 'http://ec2.amazonaws.com/doc/2016-11-15/',
  validationError: { code: 'MissingParameter' },
  persistentClasses: WORLD_CLASSES,
  createState: (scope) => ({ world: worldOf(scope) }),
  operations: {
    DescribeSecurityGroups: {
      handler(input, ctx: Ctx) {
        const { world } = ctx.state;
        const ids = list(input.GroupId).map(String);
        const names = list(input.GroupName).map(String);
        for (const id of ids) ec2Call(ctx, () => world.ec2.securityGroup(id));
        const fs = filters(input);
        const all = [...world.ec2.securityGroups.values()].filter(
          (sg) =>
            (ids.length === 0 || ids.includes(sg.groupId)) &&
            (names.length === 0 || names.includes(sg.groupName)) &&
            matchesFilters(ctx, fs, (name) => {
              if (name === 'group-id') return [sg.groupId];
              if (name === 'group-name') return [sg.groupName];
              if (name === 'vpc-id') return [sg.vpcId];
              if (name === 'description') return [sg.description];
              if (name.startsWith('tag:')) return sg.tags.filter((t) => t.Key === name.slice(4)).map((t) => t.Value);
              if (name === 'tag-key') return sg.tags.map((t) => t.Key);
              return undefined;
            }),
        );
        for (const n of names) {
          if (!all.some((sg) => sg.groupName === n)) throw ctx.error('InvalidGroup.NotFound', `The security group '${n}' does not exist in default VPC '${defaultVpcId(world)}'`);
        }
        const page = paginate(all, str(input.NextToken), maxResults(ctx, input, 5), invalidToken(ctx));
        return { securityGroupInfo: page.items.map((sg) => securityGroupXml(ctx, sg)), ...(page.next ? { nextToken: page.next } : {}) };
      },
    },
    CreateSecurityGroup: {
      input: { GroupName: 'string', GroupDescription: 'string' },
      handler(input, ctx: Ctx) {
        const { world } = ctx.state;
        const vpcId = str(input.VpcId) ?? defaultVpcId(world);
        const tags = list(input.TagSpecification).flatMap((spec) => list((spec as Input).Tag).map((t) => ({ Key: String((t as Input).Key), Value: String((t as Input).Value ?? '') })));
        const sg = ec2Call(ctx, () => world.ec2.createSecurityGroup({ groupName: String(input.GroupName), description: String(input.GroupDescription), vpcId, tags }));
        return { return: true, groupId: sg.groupId, tagSet: sg.tags.map((t) => ({ key: t.Key, value: t.Value })), securityGroupArn: ctx.arn(`security-group/${sg.groupId}`) };
      },
    },
    DeleteSecurityGroup: {
      handler(input, ctx: Ctx) {
        const { world } = ctx.state;
        const sg = groupOf(ctx, world, input);
        if ([...world.efs.mountTargets.values()].some((mt) => mt.securityGroups.includes(sg.groupId))) {
          throw ctx.error('DependencyViolation', `resource ${sg.groupId} has a dependent object`);
        }
        ec2Call(ctx, () => world.ec2.deleteSecurityGroup(sg.groupId));
        return { return: true, groupId: sg.groupId };
      },
    },
    AuthorizeSecurityGroupIngress: {
      handler(input, ctx: Ctx) {
        const { world } = ctx.state;
        const sg = groupOf(ctx, world, input);
        const added = ec2Call(ctx, () => world.ec2.authorize(sg.groupId, 'ingress', permissionsOf(ctx, input)));
        return { return: true, securityGroupRuleSet: added.map((r) => ruleXml(ctx, sg.groupId, false, r)) };
      },
    },
    RevokeSecurityGroupIngress: {
      handler(input, ctx: Ctx) {
        const { world } = ctx.state;
        const sg = groupOf(ctx, world, input);
        const { removed, unknown } = ec2Call(ctx, () => world.ec2.revoke(sg.groupId, 'ingress', permissionsOf(ctx, input)));
        return {
          return: true,
          ...(unknown.length > 0 ? { unknownIpPermissionSet: permissionsXml(unknown.map((u) => ({ ...u, ruleId: '' })), ctx.accountId) } : {}),
          revokedSecurityGroupRuleSet: removed.map((r) => ({ securityGroupRuleId: r.ruleId, groupId: sg.groupId, isEgress: false, ipProtocol: r.protocol, fromPort: r.fromPort, toPort: r.toPort })),
        };
      },
    },
    AuthorizeSecurityGroupEgress: {
      input: { GroupId: 'string' },
      handler(input, ctx: Ctx) {
        const { world } = ctx.state;
        const sg = groupOf(ctx, world, input);
        const added = ec2Call(ctx, () => world.ec2.authorize(sg.groupId, 'egress', permissionsOf(ctx, input)));
        return { return: true, securityGroupRuleSet: added.map((r) => ruleXml(ctx, sg.groupId, true, r)) };
      },
    },
    RevokeSecurityGroupEgress: {
      input: { GroupId: 'string' },
      handler(input, ctx: Ctx) {
        const { world } = ctx.state;
        const sg = groupOf(ctx, world, input);
        const { unknown } = ec2Call(ctx, () => world.ec2.revoke(sg.groupId, 'egress', permissionsOf(ctx, input)));
        return { return: true, ...(unknown.length > 0 ? { unknownIpPermissionSet: permissionsXml(unknown.map((u) => ({ ...u, ruleId: '' })), ctx.accountId) } : {}) };
      },
    },
    DescribeSubnets: {
      handler(input, ctx: Ctx) {
        const { world } = ctx.state;
        const ids = list(input.SubnetId).map(String);
        for (const id of ids) ec2Call(ctx, () => world.ec2.subnet(id));
        const fs = filters(input);
        const all = [...world.ec2.subnets.values()].filter(
          (s) =>
            (ids.length === 0 || ids.includes(s.subnetId)) &&
            matchesFilters(ctx, fs, (name) => {
              if (name === 'subnet-id') return [s.subnetId];
              if (name === 'vpc-id') return [s.vpcId];
              if (name === 'availability-zone') return [`${ctx.region}${s.azLetter}`];
              if (name === 'default-for-az') return [String(s.defaultForAz)];
              if (name === 'cidr-block' || name === 'cidr') return [s.cidrBlock];
              return undefined;
            }),
        );
        const page = paginate(all, str(input.NextToken), maxResults(ctx, input, 5), invalidToken(ctx));
        return { subnetSet: page.items.map((s) => subnetXml(ctx, s)), ...(page.next ? { nextToken: page.next } : {}) };
      },
    },
    DescribeVpcs: {
      handler(input, ctx: Ctx) {
        const { world } = ctx.state;
        const ids = list(input.VpcId).map(String);
        for (const id of ids) ec2Call(ctx, () => world.ec2.vpc(id));
        const fs = filters(input);
        const all = [...world.ec2.vpcs.values()].filter(
          (v) =>
            (ids.length === 0 || ids.includes(v.vpcId)) &&
            matchesFilters(ctx, fs, (name) => {
              if (name === 'vpc-id') return [v.vpcId];
              if (name === 'is-default' || name === 'isDefault') return [String(v.isDefault)];
              if (name === 'cidr' || name === 'cidr-block') return [v.cidrBlock];
              return undefined;
            }),
        );
        return { vpcSet: all.map((v) => vpcXml(ctx, v)) };
      },
    },
  },
});
