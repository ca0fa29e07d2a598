import { z } from 'zod';
import type { CreationEvent } from '../../activities/recovery/activities';
import { isValidName } from '../../workflows/recovery/model';

/** The EventBridge envelope an API destination delivers; only what the gateway reads is required. */
const envelope = z.object({
  id: z.string().optional(),
  'detail-type': z.string({ error: '"detail-type" (a string) is required' }),
  source: z.string({ error: '"source" (a string) is required' }),
  detail: z.record(z.string(), z.unknown(), { error: '"detail" (an object) is required' }),
});

const name = (what: string) => z.string({ error: `${what} (a string) is required` }).refine(isValidName, `${what} is not a valid SageMaker name`);

/** The CloudTrail record of a CreateUserProfile / CreateSpace call (`detail` of "AWS API Call via CloudTrail"). */
const cloudTrailCreation = z.object({
  eventID: z.string({ error: 'detail.eventID (a string) is required' }).min(1, 'detail.eventID is empty'),
  eventName: z.enum(['CreateUserProfile', 'CreateSpace']),
  eventTime: z.string({ error: 'detail.eventTime (an ISO time) is required' }).refine((v) => !Number.isNaN(Date.parse(v)), 'detail.eventTime is not an ISO time'),
  errorCode: z.string().optional(),
  requestParameters: z.object(
    {
      domainId: z.string({ error: 'detail.requestParameters.domainId (a string) is required' }).min(1),
      userProfileName: z.string().optional(),
      spaceName: z.string().optional(),
    },
    { error: 'detail.requestParameters (an object) is required' },
  ),
});

const INTERESTING = new Set(['CreateUserProfile', 'CreateSpace']);

export type Interpretation =
  | { kind: 'creation'; event: CreationEvent }
  | { kind: 'ignored'; reason: string }
  | { kind: 'malformed'; message: string };

function firstIssue(err: z.ZodError): string {
  const i = err.issues[0];
  if (!i) return 'invalid body';
  const path = i.path.map(String).join('.');
  return i.message.includes(path) || path === '' ? i.message : `${path}: ${i.message}`;
}

/** Decides what one EventBridge delivery means for profile recovery. Pure: the server logs and acts on the answer. */
export function interpretDelivery(body: unknown): Interpretation {
  const env = envelope.safeParse(body);
  if (!env.success) return { kind: 'malformed', message: firstIssue(env.error) };
  const { detail } = env.data;
  const eventName = typeof detail.eventName === 'string' ? detail.eventName : undefined;
  if (env.data['detail-type'] !== 'AWS API Call via CloudTrail' || env.data.source !== 'aws.sagemaker' || !eventName || !INTERESTING.has(eventName)) {
    return { kind: 'ignored', reason: `not a SageMaker CreateUserProfile/CreateSpace call (${env.data.source} ${env.data['detail-type']}${eventName ? ` ${eventName}` : ''})` };
  }
  const ct = cloudTrailCreation.safeParse(detail);
  if (!ct.success) return { kind: 'malformed', message: firstIssue(ct.error) };
  const d = ct.data;
  if (d.errorCode) return { kind: 'ignored', reason: `${d.eventName} failed (${d.errorCode}): nothing was created` };
  const kind = d.eventName === 'CreateUserProfile' ? 'user-profile' : 'space';
  const profileName = kind === 'user-profile' ? d.requestParameters.userProfileName : d.requestParameters.spaceName;
  const field = kind === 'user-profile' ? 'userProfileName' : 'spaceName';
  const checked = name(`detail.requestParameters.${field}`).safeParse(profileName);
  if (!checked.success) return { kind: 'malformed', message: firstIssue(checked.error) };
  return {
    kind: 'creation',
    event: { eventId: d.eventID, kind, domainId: d.requestParameters.domainId, name: checked.data, eventTime: new Date(Date.parse(d.eventTime)).toISOString() },
  };
}
