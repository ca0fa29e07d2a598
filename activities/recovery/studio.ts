import { DescribeDomainCommand, DescribeSpaceCommand, DescribeUserProfileCommand, ListDomainsCommand, type SageMakerClient } from '@aws-sdk/client-sagemaker';
import { RecoveryFailure, recoveryFailure } from '../../workflows/recovery/failures';
import type { ProfileKind } from '../../workflows/recovery/model';
import { aws, classifyAwsError, isAwsError } from './aws-errors';
import { allPages } from './paging';

const LIVE_DOMAIN = new Set(['InService', 'Pending', 'Updating', 'Update_Failed']);

/** The SageMaker Studio lookups the activities share: domains by id and by name, a profile's or space's home id. */
export function studioLookups(sagemaker: SageMakerClient) {
  async function describeDomain(domainId: string): Promise<{ domainName: string; efsId: string }> {
    const d = await aws(`DescribeDomain ${domainId}`, () => sagemaker.send(new DescribeDomainCommand({ DomainId: domainId })), RecoveryFailure.DomainNotFound);
    if (!d.DomainName || !d.HomeEfsFileSystemId) {
      throw recoveryFailure(RecoveryFailure.HomeNotAssigned, `domain ${domainId} has no name or home file system yet`);
    }
    return { domainName: d.DomainName, efsId: d.HomeEfsFileSystemId };
  }

  /** The profile's or space's HomeEfsFileSystemUid; undefined when it does not exist. */
  async function homeUidOf(domainId: string, kind: ProfileKind, name: string): Promise<string | undefined> {
    try {
      const uid =
        kind === 'user-profile'
          ? (await sagemaker.send(new DescribeUserProfileCommand({ DomainId: domainId, UserProfileName: name }))).HomeEfsFileSystemUid
          : (await sagemaker.send(new DescribeSpaceCommand({ DomainId: domainId, SpaceName: name }))).HomeEfsFileSystemUid;
      if (!uid) throw recoveryFailure(RecoveryFailure.HomeNotAssigned, `${kind} ${name} in ${domainId} has no home directory id yet`);
      return uid;
    } catch (err) {
      if (isAwsError(err, 'ResourceNotFound')) return undefined;
      throw classifyAwsError(err, `Describe ${kind} ${domainId}/${name}`);
    }
  }

  async function liveDomainsByName(): Promise<Map<string, { domainId: string; created: number }[]>> {
    const domains = await allPages(async (token) => {
      const r = await aws('ListDomains', () => sagemaker.send(new ListDomainsCommand({ NextToken: token, MaxResults: 100 })));
      return { items: r.Domains ?? [], next: r.NextToken };
    });
    const byName = new Map<string, { domainId: string; created: number }[]>();
    for (const d of domains) {
      if (!d.DomainId || !d.DomainName || (d.Status && !LIVE_DOMAIN.has(d.Status))) continue;
      const list = byName.get(d.DomainName) ?? [];
      list.push({ domainId: d.DomainId, created: d.CreationTime?.getTime() ?? 0 });
      byName.set(d.DomainName, list.sort((a, b) => b.created - a.created));
    }
    return byName;
  }

  return { describeDomain, homeUidOf, liveDomainsByName };
}
