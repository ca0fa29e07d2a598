/** Helpers that drive the recovery stack the way its users do: CloudTrail events through the gateway, status queries. */
import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { profileWorkflowId, type ProfileKey, type ProfileKind, type ProfileStatus, type RestoreRecord } from '../../workflows/recovery/model';
import { statusQuery } from '../../workflows/recovery/messages';
import type { RecoveryStack } from './harness';

/** Polls `fn` until it returns a value; each attempt is bounded so a call that never answers cannot stall the wait. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await Promise.race([fn(), new Promise<undefined>((_, reject) => setTimeout(() => reject(new Error('attempt timed out')), 3000))]);
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export function cloudTrailEvent(now: number, domainId: string, kind: ProfileKind, name: string, eventId: string = randomUUID()) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.sagemaker',
    detail: {
      eventSource: 'sagemaker.amazonaws.com',
      eventName: kind === 'user-profile' ? 'CreateUserProfile' : 'CreateSpace',
      eventID: eventId,
      eventTime: new Date(now).toISOString(),
      requestParameters: { domainId, ...(kind === 'user-profile' ? { userProfileName: name } : { spaceName: name }) },
    },
  };
}

export function driver(stack: RecoveryStack, gateway: FastifyInstance, apiKey: string) {
  /** Delivers through the gateway; once accepted, waits until the intake workflow has handed the event over. */
  async function deliver(event: unknown): Promise<string> {
    const res = await gateway.inject({ method: 'POST', url: '/events/eventbridge', headers: { 'x-api-key': apiKey }, payload: event as object });
    if (res.statusCode !== 202) throw new Error(`gateway answered ${res.statusCode}: ${res.body}`);
    const body = res.json() as { status: string; workflowId: string };
    if (body.status === 'accepted') {
      const outcome = (await stack.client.workflow.getHandle(body.workflowId).result()) as { status: string };
      if (outcome.status !== 'delivered') throw new Error(`intake ${body.workflowId}: ${JSON.stringify(outcome)}`);
    }
    return body.status;
  }

  async function statusOf(key: ProfileKey): Promise<ProfileStatus> {
    return await stack.client.workflow.getHandle(profileWorkflowId(key)).query(statusQuery);
  }

  const homesSeen = (key: ProfileKey, n: number, timeoutMs?: number) =>
    eventually(`${n} homes of ${key.name}`, async () => ((await statusOf(key)).homes.length >= n ? true : undefined), timeoutMs);

  const restoreEnded = (key: ProfileKey, id: number, timeoutMs?: number): Promise<RestoreRecord> =>
    eventually(
      `restore ${id} of ${key.name}`,
      async () => {
        const r = (await statusOf(key)).restores.find((x) => x.id === id);
        return r && (r.status === 'succeeded' || r.status === 'failed' || r.status === 'cancelled') ? r : undefined;
      },
      timeoutMs,
    );

  return { deliver, statusOf, homesSeen, restoreEnded, event: (domainId: string, kind: ProfileKind, name: string, eventId?: string) => cloudTrailEvent(stack.clock.now(), domainId, kind, name, eventId) };
}
