import { z } from 'zod';
import type { CreationEvent } from '../../activities/recovery/activities';
import { isValidName } from '../../workflows/recovery/model';

/**
 * The shapes AWS gives the fields the gateway accepts. Anything else is refused with 400 before a workflow exists:
 * a permanently bad event must not become an intake that retries for ever, nor a 5xx that EventBridge redelivers.
 */
export const SAGEMAKER_DOMAIN_ID = /^d-[a-z0-9]{12}$/;
/** CloudTrail eventIDs (and EventBridge envelope ids) are UUIDs. */
export const EVENT_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** EventBridge's documented bounds: `source` and `detail-type` are at most 256 and 128 characters. */
const MAX_SOURCE = 256;
const MAX_DETAIL_TYPE = 128;
/** CloudTrail error codes are short identifiers ("ResourceInUse", "AccessDenied"). */
const MAX_ERROR_CODE = 256;

const bounded = (what: string, max: number) =>
  z.string({ error: `${what} (a string) is required` }).max(max, `${what} is longer than ${max} characters`);

/** The EventBridge envelope an API destination delivers; only what the gateway reads is required. */
const envelope = z.object({
  id: z.string().regex(EVENT_ID, '"id" is not an EventBridge event id (a UUID)').optional(),
  'detail-type': bounded('"detail-type"', MAX_DETAIL_TYPE),
  source: bounded('"source"', MAX_SOURCE),
  detail: z.record(z.string(), z.unknown(), { error: '"detail" (an object) is required' }),
});

const name = (what: string) => z.string({ error: `${what} (a string) is required` }).refine(isValidName, `${what} is not a valid SageMaker name (1-63 letters, digits and hyphens)`);

/** The CloudTrail record of a CreateUserProfile / CreateSpace call (`detail` of "AWS API Call via CloudTrail"). */
const cloudTrailCreation = z.object({
  eventID: z.string({ error: 'detail.eventID (a string) is required' }).regex(EVENT_ID, 'detail.eventID is not a CloudTrail event id (a UUID)'),
  eventName: z.enum(['CreateUserProfile', 'CreateSpace']),
  eventTime: z.iso.datetime({ offset: true, error: 'detail.eventTime is not an ISO 8601 time such as 2026-03-02T10:15:40Z' }),
  errorCode: bounded('detail.errorCode', MAX_ERROR_CODE).optional(),
  requestParameters: z.object(
    {
      domainId: z
        .string({ error: 'detail.requestParameters.domainId (a string) is required' })
        .regex(SAGEMAKER_DOMAIN_ID, 'detail.requestParameters.domainId is not a SageMaker domain id ("d-" and 12 lower-case letters or digits)'),
      userProfileName: z.unknown().optional(),
      spaceName: z.unknown().optional(),
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

/** At most `max` characters of an untrusted value, for a log line or an answer. */
function clip(text: string, max = 80): string {
  return text.length > max ? `${text.slice(0, max)}...` : text;
}

/** Decides what one EventBridge delivery means for profile recovery. Pure: the server logs and acts on the answer. */
export function interpretDelivery(body: unknown): Interpretation {
  const env = envelope.safeParse(body);
  if (!env.success) return { kind: 'malformed', message: firstIssue(env.error) };
  const { detail } = env.data;
  const eventName = typeof detail.eventName === 'string' ? detail.eventName : undefined;
  if (env.data['detail-type'] !== 'AWS API Call via CloudTrail' || env.data.source !== 'aws.sagemaker' || !eventName || !INTERESTING.has(eventName)) {
    return { kind: 'ignored', reason: `not a SageMaker CreateUserProfile/CreateSpace call (${env.data.source} ${env.data['detail-type']}${eventName ? ` ${clip(eventName)}` : ''})` };
  }
  const ct = cloudTrailCreation.safeParse(detail);
  if (!ct.success) return { kind: 'malformed', message: firstIssue(ct.error) };
  const d = ct.data;
  if (d.errorCode) return { kind: 'ignored', reason: `${d.eventName} failed (${clip(d.errorCode)}): nothing was created` };
  const kind = d.eventName === 'CreateUserProfile' ? 'user-profile' : 'space';
  const profileName = kind === 'user-profile' ? d.requestParameters.userProfileName : d.requestParameters.spaceName;
  const field = kind === 'user-profile' ? 'userProfileName' : 'spaceName';
  const checked = name(`detail.requestParameters.${field}`).safeParse(profileName);
  if (!checked.success) return { kind: 'malformed', message: firstIssue(checked.error) };
  return {
    kind: 'creation',
    // Lower case: one event, one workflow id, whatever the case it was written in.
    event: { eventId: d.eventID.toLowerCase(), kind, domainId: d.requestParameters.domainId, name: checked.data, eventTime: new Date(Date.parse(d.eventTime)).toISOString() },
  };
}
