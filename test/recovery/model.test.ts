import { describe, expect, it } from 'vitest';
import {
  cancelRequestProblem,
  cancelRestore,
  copyRequestProblem,
  currentHome,
  initialState,
  nextQueuedRestore,
  parseProfileRef,
  profileWorkflowId,
  reportHome,
  requestCopy,
  retryRequestProblem,
  retryRestore,
  setReplication,
  updateRestore,
  type HomeReport,
  type ProfileKey,
} from '../../workflows/recovery/model';

const alice: ProfileKey = { domainName: 'research', kind: 'user-profile', name: 'alice' };
const bob: ProfileKey = { domainName: 'research', kind: 'user-profile', name: 'bob' };
const created = (eventId: string, homeUid: string, over: Partial<HomeReport> = {}): HomeReport => ({
  eventId,
  domainId: 'd-1',
  efsId: 'fs-1',
  homeUid,
  at: '2026-01-01T00:00:00.000Z',
  source: 'cloudtrail',
  ...over,
});

describe('profile references', () => {
  it('parses user profiles and spaces and names the workflow after the domain name', () => {
    expect(parseProfileRef('research/alice')).toEqual(alice);
    expect(parseProfileRef('research/space:shared')).toEqual({ domainName: 'research', kind: 'space', name: 'shared' });
    expect(profileWorkflowId(alice)).toBe('recovery/research/user-profile/alice');
  });
  it('explains a malformed reference', () => {
    expect(parseProfileRef('research')).toMatch(/DOMAIN\/PROFILE/);
    expect(parseProfileRef('research/al_ice')).toMatch(/not a SageMaker user profile name/);
  });
});

describe('a reported home directory', () => {
  it('first home is only recorded; a different later home queues a restore from the previous one', () => {
    let s = reportHome(initialState(alice), created('e1', '100')).state;
    expect(nextQueuedRestore(s)).toBeUndefined();
    const r = reportHome(s, created('e2', '200'));
    expect(r.outcome).toBe('restore-queued');
    s = r.state;
    expect(s.homes.map((h) => h.homeUid)).toEqual(['100', '200']);
    expect(nextQueuedRestore(s)).toMatchObject({ id: 1, reason: 'recreated', from: { homeUid: '100' }, to: { homeUid: '200' }, workflowId: 'recovery/research/user-profile/alice/restore/1' });
  });

  it('the same event twice, or the same home under another event, changes nothing', () => {
    const s1 = reportHome(reportHome(initialState(alice), created('e1', '100')).state, created('e2', '200')).state;
    const dup = reportHome(s1, created('e2', '200'));
    expect(dup.outcome).toBe('duplicate-event');
    expect(dup.state).toBe(s1);
    const again = reportHome(s1, created('e3', '200'));
    expect(again.outcome).toBe('known-home');
    expect(again.state.restores).toHaveLength(1);
  });

  it('a recreated domain (new id, new file system, same name) restores across file systems', () => {
    const s = reportHome(reportHome(initialState(alice), created('e1', '100')).state, created('e2', '300', { domainId: 'd-2', efsId: 'fs-2' })).state;
    expect(nextQueuedRestore(s)).toMatchObject({ from: { efsId: 'fs-1', homeUid: '100' }, to: { domainId: 'd-2', efsId: 'fs-2', homeUid: '300' } });
  });

  it('created again before the first restore ran: the queued one is dropped and the files come from the home that has them', () => {
    let s = reportHome(initialState(alice), created('e1', 'A')).state;
    s = reportHome(s, created('e2', 'B')).state;
    s = reportHome(s, created('e3', 'C')).state;
    expect(s.restores.map((r) => [r.id, r.status, r.from.homeUid, r.to.homeUid])).toEqual([
      [1, 'failed', 'A', 'B'],
      [2, 'queued', 'A', 'C'],
    ]);
    expect(s.restores[0]?.error).toMatch(/superseded/);
  });

  it('a copy still queued when the profile is created again goes to the new home', () => {
    let s = reportHome(initialState(alice), created('e1', 'A')).state;
    s = requestCopy(s, { source: bob, from: { domainId: 'd-1', efsId: 'fs-1', homeUid: 'Z' }, by: 'ops' }, 't').state;
    s = reportHome(s, created('e2', 'B')).state;
    expect(s.restores.map((r) => [r.reason, r.status, r.to.homeUid])).toEqual([
      ['copy', 'queued', 'B'],
      ['recreated', 'queued', 'B'],
    ]);
  });

  it('a home whose restore started but did not succeed is copied from, and so is its source, newest first; one that succeeded is the only source', () => {
    let s = reportHome(reportHome(initialState(alice), created('e1', 'A')).state, created('e2', 'B')).state;
    s = updateRestore(s, 1, { status: 'running', startedAt: 't1' });
    // The user worked in B while A's files were on their way: both go to C, B's first so its newer versions win.
    const queued = (st: typeof s) => st.restores.filter((r) => r.status === 'queued').map((r) => [r.from.homeUid, r.to.homeUid]);
    expect(queued(reportHome(s, created('e3', 'C')).state)).toEqual([['B', 'C'], ['A', 'C']]);
    s = updateRestore(s, 1, { status: 'failed' });
    expect(queued(reportHome(s, created('e3', 'C')).state)).toEqual([['B', 'C'], ['A', 'C']]);
    s = updateRestore(s, 1, { status: 'succeeded' });
    expect(queued(reportHome(s, created('e3', 'C')).state)).toEqual([['B', 'C']]);
  });

  it('disabled replication records the new home without restoring', () => {
    let s = reportHome(initialState(alice), created('e1', '100')).state;
    s = setReplication(s, { enabled: false, by: 'ops' }, '2026-01-02T00:00:00Z');
    const r = reportHome(s, created('e2', '200'));
    expect(r.outcome).toBe('recorded');
    expect(currentHome(r.state)?.homeUid).toBe('200');
    expect(r.state.audit).toEqual([{ at: '2026-01-02T00:00:00Z', by: 'ops', action: 'disable' }]);
  });

  it('a seed records a changed home without copying', () => {
    const s = reportHome(initialState(alice), created('e1', '100')).state;
    const r = reportHome(s, created('seed:x', '200', { source: 'seed' }));
    expect(r.outcome).toBe('recorded');
    expect(nextQueuedRestore(r.state)).toBeUndefined();
  });

  it('a creation event arriving after a seed recorded the same new home still restores the old one', () => {
    const s = reportHome(initialState(alice), created('e1', '100')).state;
    const seeded = reportHome(s, created('seed:x', '200', { source: 'seed' })).state;
    const r = reportHome(seeded, created('e2', '200'));
    expect(r.outcome).toBe('restore-queued');
    expect(nextQueuedRestore(r.state)).toMatchObject({ reason: 'recreated', from: { homeUid: '100' }, to: { homeUid: '200' } });
    expect(r.state.homes.map((h) => [h.homeUid, h.source])).toEqual([['100', 'cloudtrail'], ['200', 'cloudtrail']]);
    // Delivered again, the same event changes nothing.
    expect(reportHome(r.state, created('e2', '200')).outcome).toBe('duplicate-event');
  });
});

describe('copy requests', () => {
  const from = { domainId: 'd-1', efsId: 'fs-1', homeUid: '100' };
  it('to a profile that does not exist yet waits, and runs when it is created', () => {
    const r = requestCopy(initialState(bob), { source: alice, from, by: 'ops' }, 't0');
    expect(r.restoreId).toBeUndefined();
    expect(r.state.pendingCopies).toHaveLength(1);
    const created2 = reportHome(r.state, created('e9', '500'));
    expect(created2.outcome).toBe('restore-queued');
    expect(created2.state.pendingCopies).toEqual([]);
    expect(nextQueuedRestore(created2.state)).toMatchObject({ reason: 'copy', source: alice, from, to: { homeUid: '500' } });
  });
  it('to an existing profile runs now, and records the home the lookup found', () => {
    const r = requestCopy(initialState(bob), { source: alice, from, targetHome: { domainId: 'd-1', efsId: 'fs-1', homeUid: '500' }, by: 'ops' }, 't0');
    expect(r.restoreId).toBe(1);
    expect(currentHome(r.state)).toMatchObject({ homeUid: '500', source: 'lookup' });
    expect(nextQueuedRestore(r.state)).toMatchObject({ to: { homeUid: '500' } });
  });
  it('into a recreated profile before its CloudTrail event: the event still restores the old home and brings the waiting copies', () => {
    const bobOld = reportHome(initialState(bob), created('e1', '300')).state;
    const copied = requestCopy(bobOld, { source: alice, from, targetHome: { domainId: 'd-1', efsId: 'fs-1', homeUid: '400' }, by: 'ops' }, 't0').state;
    const event = reportHome(copied, created('e2', '400'));
    expect(event.outcome).toBe('restore-queued');
    expect(event.state.restores.map((r) => [r.reason, r.from.homeUid, r.to.homeUid])).toEqual([
      ['copy', '100', '400'],
      ['recreated', '300', '400'],
    ]);
    expect(event.state.homes.map((h) => [h.homeUid, h.source])).toEqual([
      ['300', 'cloudtrail'],
      ['400', 'cloudtrail'],
    ]);
    expect(reportHome(event.state, created('e3', '400')).outcome).toBe('known-home');

    const carol: ProfileKey = { domainName: 'research', kind: 'user-profile', name: 'carol' };
    const waiting = requestCopy(initialState(bob), { source: carol, from: { ...from, homeUid: '700' }, by: 'ops' }, 't0').state;
    const looked = requestCopy(waiting, { source: alice, from, targetHome: { domainId: 'd-1', efsId: 'fs-1', homeUid: '500' }, by: 'ops' }, 't1').state;
    const created500 = reportHome(looked, created('e4', '500'));
    expect(created500.state.pendingCopies).toEqual([]);
    expect(created500.state.restores.map((r) => [r.source.name, r.to.homeUid])).toEqual([
      ['alice', '500'],
      ['carol', '500'],
    ]);
  });
  it('onto the same home, or the same pending copy twice, is refused', () => {
    const s = reportHome(initialState(bob), created('e1', '100')).state;
    expect(copyRequestProblem(s, { source: alice, from, by: 'ops' })).toMatch(/same home/);
    const pending = requestCopy(initialState(bob), { source: alice, from, by: 'ops' }, 't0').state;
    expect(copyRequestProblem(pending, { source: alice, from, by: 'ops' })).toMatch(/already waiting/);
  });
});

describe('retrying a failed restore', () => {
  /** alice recreated once: restore #1 (100 -> 200) failed. */
  function withFailures() {
    let s = reportHome(initialState(alice), created('e1', '100')).state;
    s = reportHome(s, created('e2', '200')).state;
    s = updateRestore(s, 1, { status: 'failed', error: 'TransferFailed' });
    return s;
  }

  it('queues the same old home into the current home, marked as a retry, and audits who asked', () => {
    const r = retryRestore(withFailures(), { by: 'ops' }, 't1');
    expect(r).toMatchObject({ restoreId: 2, retryOf: 1 });
    expect(nextQueuedRestore(r.state)).toMatchObject({ id: 2, reason: 'recreated', retryOf: 1, from: { homeUid: '100' }, to: { homeUid: '200' } });
    expect(r.state.audit.at(-1)).toEqual({ at: 't1', by: 'ops', action: 'retry-requested', detail: '#1 as #2' });
  });

  it('refuses what it cannot retry, saying why', () => {
    const s = withFailures();
    expect(retryRequestProblem(initialState(alice), { by: 'ops' })).toBe('no failed restore to retry');
    expect(retryRequestProblem(s, { restoreId: 7, by: 'ops' })).toMatch(/no restore #7/);
    const queued = retryRestore(s, { by: 'ops' }, 't1').state;
    expect(retryRequestProblem(queued, { restoreId: 2, by: 'ops' })).toBe('restore #2 is queued: only a failed or cancelled restore is run again');
    expect(retryRequestProblem(queued, { restoreId: 1, by: 'ops' })).toBe('restore #2 already copies the same home directory (queued)');
    // Once the retry succeeded, the failure is taken care of.
    expect(retryRequestProblem(updateRestore(queued, 2, { status: 'succeeded' }), { by: 'ops' })).toBe('no failed restore to retry');
  });

  it('cancel: a queued restore is cancelled at once, a running one is left for the workflow to stop; nothing else can be', () => {
    const s = withFailures();
    const queued = retryRestore(s, { by: 'ops' }, 't1').state;
    expect(cancelRequestProblem(s, { by: 'ops' })).toBe('no running or queued restore to cancel');
    expect(cancelRequestProblem(s, { restoreId: 1, by: 'ops' })).toBe('restore #1 is failed: only a running or queued restore can be cancelled');
    const c = cancelRestore(queued, { by: 'ops' }, 't2');
    expect(c).toMatchObject({ restoreId: 2, running: false });
    expect(c.state.restores.find((r) => r.id === 2)).toMatchObject({ status: 'cancelled', endedAt: 't2', error: 'cancelled by ops before it started' });
    expect(nextQueuedRestore(c.state)).toBeUndefined();
    expect(c.state.audit.at(-1)).toEqual({ at: 't2', by: 'ops', action: 'cancel-requested', detail: '#2 (queued)' });
    const running = updateRestore(queued, 2, { status: 'running' });
    const r = cancelRestore(running, { by: 'ops' }, 't3');
    expect(r.running).toBe(true);
    expect(r.state.restores.find((x) => x.id === 2)?.status).toBe('running');
  });
});
