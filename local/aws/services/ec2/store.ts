/**
 * EC2 networking as the recovery pipeline meets it: a default VPC with three subnets, security groups and their
 * ingress / egress rules. SageMaker domains create their NFS security groups here; EFS mount targets and DataSync
 * locations refer to them; DataSync checks that NFS (TCP 2049) is allowed before it mounts a file system.
 */
import { newId } from '../../service';
import { StoreError } from '../efs/errors';

export const DEFAULT_VPC_ID = 'vpc-0e1d2c3b4a5f60718';
export const DEFAULT_SUBNET_IDS = ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002', 'subnet-0a1b2c3d4e5f60003'] as const;
export const NFS_PORT = 2049;

export interface Vpc {
  vpcId: string;
  cidrBlock: string;
  isDefault: boolean;
}

export interface Subnet {
  subnetId: string;
  vpcId: string;
  cidrBlock: string;
  /** Availability zone letter; the region is added when answering. */
  azLetter: string;
  defaultForAz: boolean;
}

export interface Rule {
  ruleId: string;
  /** `tcp`, `udp`, `icmp` or `-1` (all). */
  protocol: string;
  fromPort: number;
  toPort: number;
  cidrIp?: string;
  groupId?: string;
  description?: string;
}

export interface SecurityGroup {
  groupId: string;
  groupName: string;
  description: string;
  vpcId: string;
  ingress: Rule[];
  egress: Rule[];
  tags: { Key: string; Value: string }[];
}

/** A permission as the API gives it: one protocol and port range, several peers. */
export interface PermissionInput {
  protocol: string;
  fromPort?: number;
  toPort?: number;
  cidrs: { cidrIp: string; description?: string }[];
  groups: { groupId: string; description?: string }[];
}

export function normaliseProtocol(p: string): string {
  const v = p.trim().toLowerCase();
  if (v === '-1' || v === 'all') return '-1';
  if (v === '6') return 'tcp';
  if (v === '17') return 'udp';
  if (v === '1') return 'icmp';
  if (v === 'tcp' || v === 'udp' || v === 'icmp') return v;
  throw new StoreError('InvalidParameterValue', `Invalid value '${p}' for IP protocol. Unknown protocol.`);
}

function peerText(rule: Pick<Rule, 'cidrIp' | 'groupId' | 'protocol' | 'fromPort' | 'toPort'>): string {
  const proto = rule.protocol === '-1' ? 'ALL' : rule.protocol.toUpperCase();
  const ports = rule.protocol === '-1' ? '' : `, from port: ${rule.fromPort}, to port: ${rule.toPort}`;
  return `peer: ${rule.cidrIp ?? rule.groupId}, ${proto}${ports}, ALLOW`;
}

function samePermission(a: Rule, b: Omit<Rule, 'ruleId'>): boolean {
  const portsMatter = a.protocol !== '-1';
  return (
    a.protocol === b.protocol &&
    (!portsMatter || (a.fromPort === b.fromPort && a.toPort === b.toPort)) &&
    a.cidrIp === b.cidrIp &&
    a.groupId === b.groupId
  );
}

export class Ec2Store {
  readonly vpcs = new Map<string, Vpc>();
  readonly subnets = new Map<string, Subnet>();
  readonly securityGroups = new Map<string, SecurityGroup>();

  constructor() {
    this.vpcs.set(DEFAULT_VPC_ID, { vpcId: DEFAULT_VPC_ID, cidrBlock: '172.31.0.0/16', isDefault: true });
    DEFAULT_SUBNET_IDS.forEach((subnetId, i) => {
      this.subnets.set(subnetId, { subnetId, vpcId: DEFAULT_VPC_ID, cidrBlock: `172.31.${i * 16}.0/20`, azLetter: 'abc'[i] as string, defaultForAz: true });
    });
    const sg = this.createSecurityGroup({ groupName: 'default', description: 'default VPC security group', vpcId: DEFAULT_VPC_ID });
    sg.ingress.push({ ruleId: newId('sgr-', 17), protocol: '-1', fromPort: -1, toPort: -1, groupId: sg.groupId });
  }

  vpc(vpcId: string): Vpc {
    const vpc = this.vpcs.get(vpcId);
    if (!vpc) throw new StoreError('InvalidVpcID.NotFound', `The vpc ID '${vpcId}' does not exist`);
    return vpc;
  }

  subnet(subnetId: string): Subnet {
    const subnet = this.subnets.get(subnetId);
    if (!subnet) throw new StoreError('InvalidSubnetID.NotFound', `The subnet ID '${subnetId}' does not exist`);
    return subnet;
  }

  securityGroup(groupId: string): SecurityGroup {
    if (!/^sg-[0-9a-f]+$/.test(groupId)) throw new StoreError('InvalidGroupId.Malformed', `Invalid id: "${groupId}" (expecting "sg-...")`);
    const sg = this.securityGroups.get(groupId);
    if (!sg) throw new StoreError('InvalidGroup.NotFound', `The security group '${groupId}' does not exist`);
    return sg;
  }

  /** A new group with the default egress rule (all traffic to anywhere), as EC2 creates it. */
  createSecurityGroup(input: { groupName: string; description: string; vpcId: string; tags?: { Key: string; Value: string }[] }): SecurityGroup {
    this.vpc(input.vpcId);
    for (const sg of this.securityGroups.values()) {
      if (sg.vpcId === input.vpcId && sg.groupName === input.groupName) {
        throw new StoreError('InvalidGroup.Duplicate', `The security group '${input.groupName}' already exists for VPC '${input.vpcId}'`);
      }
    }
    const sg: SecurityGroup = {
      groupId: newId('sg-', 17),
      groupName: input.groupName,
      description: input.description,
      vpcId: input.vpcId,
      ingress: [],
      egress: [{ ruleId: newId('sgr-', 17), protocol: '-1', fromPort: -1, toPort: -1, cidrIp: '0.0.0.0/0' }],
      tags: input.tags ?? [],
    };
    this.securityGroups.set(sg.groupId, sg);
    return sg;
  }

  deleteSecurityGroup(groupId: string): void {
    this.securityGroup(groupId);
    for (const other of this.securityGroups.values()) {
      if (other.groupId !== groupId && [...other.ingress, ...other.egress].some((r) => r.groupId === groupId)) {
        throw new StoreError('DependencyViolation', `resource ${groupId} has a dependent object`);
      }
    }
    this.securityGroups.delete(groupId);
  }

  private expand(permissions: readonly PermissionInput[]): Omit<Rule, 'ruleId'>[] {
    const rules: Omit<Rule, 'ruleId'>[] = [];
    for (const p of permissions) {
      const protocol = normaliseProtocol(p.protocol);
      const fromPort = protocol === '-1' ? -1 : p.fromPort;
      const toPort = protocol === '-1' ? -1 : p.toPort;
      if (fromPort === undefined || toPort === undefined) {
        throw new StoreError('InvalidParameterValue', `Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.`);
      }
      if (protocol !== 'icmp' && protocol !== '-1' && (fromPort < 0 || toPort > 65535 || fromPort > toPort)) {
        throw new StoreError('InvalidParameterValue', `Invalid value 'Invalid TCP/UDP port range' for portRange. from port: ${fromPort}, to port: ${toPort}`);
      }
      if (p.cidrs.length === 0 && p.groups.length === 0) {
        throw new StoreError('MissingParameter', 'The request must contain the parameter ipPermissions.ipRanges or ipPermissions.groups');
      }
      for (const c of p.cidrs) rules.push({ protocol, fromPort, toPort, cidrIp: c.cidrIp, ...(c.description ? { description: c.description } : {}) });
      for (const g of p.groups) {
        this.securityGroup(g.groupId);
        rules.push({ protocol, fromPort, toPort, groupId: g.groupId, ...(g.description ? { description: g.description } : {}) });
      }
    }
    return rules;
  }

  /** Adds ingress or egress rules, all or none: a rule that exists already fails the call with InvalidPermission.Duplicate. */
  authorize(groupId: string, direction: 'ingress' | 'egress', permissions: readonly PermissionInput[]): Rule[] {
    const sg = this.securityGroup(groupId);
    const wanted = this.expand(permissions);
    const list = sg[direction];
    for (const [i, w] of wanted.entries()) {
      if (list.some((r) => samePermission(r, w)) || wanted.slice(0, i).some((o) => samePermission({ ...o, ruleId: '' }, w))) {
        throw new StoreError('InvalidPermission.Duplicate', `the specified rule "${peerText(w)}" already exists`);
      }
    }
    const added = wanted.map((w) => ({ ruleId: newId('sgr-', 17), ...w }));
    list.push(...added);
    return added;
  }

  /**
   * Removes the rules that match. As EC2 does for VPC security groups, a rule that does not exist is no error: it is
   * given back in `unknown` (the API's unknownIpPermissionSet).
   */
  revoke(groupId: string, direction: 'ingress' | 'egress', permissions: readonly PermissionInput[]): { removed: Rule[]; unknown: Omit<Rule, 'ruleId'>[] } {
    const sg = this.securityGroup(groupId);
    const wanted = this.expand(permissions);
    const list = sg[direction];
    const removed: Rule[] = [];
    const unknown: Omit<Rule, 'ruleId'>[] = [];
    for (const w of wanted) {
      const match = list.find((r) => samePermission(r, w));
      if (match) removed.push(match);
      else unknown.push(w);
    }
    sg[direction] = list.filter((r) => !removed.includes(r));
    return { removed, unknown };
  }

  /**
   * Whether a client in `fromGroups` may reach an NFS server in `toGroups`: some group of the server allows TCP 2049
   * from one of the client's groups (or from an address range), and some group of the client lets it out.
   */
  allowsNfs(fromGroups: readonly string[], toGroups: readonly string[]): boolean {
    const covers = (r: Rule) => r.protocol === '-1' || (r.protocol === 'tcp' && r.fromPort <= NFS_PORT && r.toPort >= NFS_PORT);
    const inbound = toGroups.some((g) =>
      (this.securityGroups.get(g)?.ingress ?? []).some((r) => covers(r) && (r.cidrIp !== undefined || (r.groupId !== undefined && fromGroups.includes(r.groupId)))),
    );
    const outbound = fromGroups.some((g) =>
      (this.securityGroups.get(g)?.egress ?? []).some((r) => covers(r) && (r.cidrIp !== undefined || (r.groupId !== undefined && toGroups.includes(r.groupId)))),
    );
    return inbound && outbound;
  }
}
