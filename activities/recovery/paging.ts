import { Context } from '@temporalio/activity';
import { RecoveryFailure, recoveryFailure } from '../../workflows/recovery/failures';

/** Heartbeats when running as an activity (long listings); a no-op elsewhere. */
export function heartbeat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    // Outside an activity (unit use): nothing to heartbeat to.
  }
}

/** The details the previous attempt of this activity last heartbeated (undefined on a first attempt or outside an activity). */
export function previousAttemptDetails<T>(): T | undefined {
  try {
    return Context.current().info.heartbeatDetails as T | undefined;
  } catch {
    return undefined;
  }
}

/**
 * Every page of a listing. A NextToken can go stale when other restores delete entries between two pages
 * ("Invalid NextToken"): the listing then starts over, a few times, before giving up (retryably).
 */
export async function allPages<T>(fetch: (token?: string) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  for (let attempt = 1; ; attempt++) {
    const out: T[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await fetch(token);
        out.push(...page.items);
        token = page.next;
        heartbeat();
      } while (token);
      return out;
    } catch (err) {
      const stale = token !== undefined && /next ?token/i.test(err instanceof Error ? err.message : String(err));
      if (!stale) throw err;
      if (attempt >= 5) throw recoveryFailure(RecoveryFailure.AwsUnavailable, `listing kept losing its place: ${(err as Error).message}`);
    }
  }
}
