/** SageMaker Studio resources as the emulator keeps them: domains, user profiles, spaces and apps. */
import type { World } from '../efs/world';
import type { ProcessingState } from './processing';
import type { FeatureStore } from './feature-store';
import type { AutoMLState } from './automl';

export interface Domain {
  /** Names the domain's jobs: its id. */
  rid: string;
  domainId: string;
  domainName: string;
  arn: string;
  authMode: string;
  vpcId: string;
  subnetIds: string[];
  appNetworkAccessType: string;
  defaultUserSettings: unknown;
  domainSettings?: unknown;
  defaultSpaceSettings?: unknown;
  kmsKeyId?: string;
  tags: { Key: string; Value?: string }[];
  createdAtMs: number;
  lastModifiedMs: number;
  homeEfsFileSystemId: string;
  inboundNfsSecurityGroupId: string;
  outboundNfsSecurityGroupId: string;
  /** The next HomeEfsFileSystemUid handed out, to a user profile or a space. */
  nextUid: number;
  /** Set by DeleteDomain. */
  retainHomeEfs?: boolean;
}

export type OwnerKind = 'user-profile' | 'space';

/** A user profile or a space: both own a home directory on the domain's file system. */
export interface HomeOwner {
  /** Names its jobs (scenarios match it): the ARN. */
  rid: string;
  kind: OwnerKind;
  domainId: string;
  name: string;
  arn: string;
  homeUid: string;
  createdAtMs: number;
  lastModifiedMs: number;
  tags: { Key: string; Value?: string }[];
  /** UserSettings of a profile, SpaceSettings of a space. */
  settings?: unknown;
  singleSignOn?: { identifier?: string; value?: string };
  ownershipSettings?: { OwnerUserProfileName?: string };
  spaceSharingSettings?: { SharingType?: string };
  spaceDisplayName?: string;
  deleting: boolean;
}

export interface App {
  /** Names its jobs (scenarios match it): the ARN. */
  rid: string;
  domainId: string;
  ownerKind: OwnerKind;
  ownerName: string;
  /** The owner's home when the app was created: where its home directory appears. */
  homeUid: string;
  appType: string;
  appName: string;
  arn: string;
  createdAtMs: number;
  resourceSpec?: unknown;
  recoveryMode?: boolean;
  tags: { Key: string; Value?: string }[];
  deleting: boolean;
}

export interface Quotas {
  domainsPerRegion: number;
  userProfilesPerDomain: number;
  spacesPerDomain: number;
  /** Apps not Deleted (or Failed) per user profile or space. */
  appsPerOwner: number;
}

export interface SageMakerState {
  world: World;
  domains: Map<string, Domain>;
  /** Key: `${domainId}/${kind}/${lower-case name}` (names are not case sensitive). */
  owners: Map<string, HomeOwner>;
  /** Every app ever created, Deleted ones included (DescribeApp and ListApps still show them). */
  apps: Map<string, App>;
  quotas: Quotas;
  /** Processing jobs (processing.ts). */
  processing: ProcessingState;
  /** Feature groups and their records, shared with the Feature Store runtime. */
  featureStore: FeatureStore;
  /** AutoML V2 time-series jobs, models and batch transforms (automl.ts). */
  automl: AutoMLState;
}

export const DEFAULT_QUOTAS: Quotas = { domainsPerRegion: 50, userProfilesPerDomain: 1000, spacesPerDomain: 1000, appsPerOwner: 10 };

/** The first HomeEfsFileSystemUid of a domain, as Studio numbers them. */
export const FIRST_HOME_UID = 200001;

/** The group id Studio gives home directories on EFS. */
export const HOME_GID = 1001;

export function ownerKey(domainId: string, kind: OwnerKind, name: string): string {
  return `${domainId}/${kind}/${name.toLowerCase()}`;
}
