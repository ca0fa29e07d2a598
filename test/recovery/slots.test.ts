import { describe, expect, it } from 'vitest';
import { freeSlots, grantSlots, hasGrantsToSend, initialSlots, needsLivenessAudit, reclaimSlots, releaseSlot, requestSlot } from '../../workflows/recovery/slots';

describe('DataSync slots', () => {
  it('never grants more than the capacity, first come first served', () => {
    let s = initialSlots(2);
    for (const h of ['a', 'b', 'c']) s = requestSlot(s, h, 't');
    const r = grantSlots(s, 't');
    expect(r.grants).toEqual(['a', 'b']);
    expect(r.state.holders.map((h) => h.holder)).toEqual(['a', 'b']);
    expect(hasGrantsToSend(r.state)).toBe(false);
    const after = grantSlots(releaseSlot(r.state, 'a'), 't');
    expect(after.grants).toEqual(['c']);
    expect(freeSlots(after.state)).toBe(0);
  });

  it('repeated requests and releases are harmless; a holder asking again gets its grant again', () => {
    let s = grantSlots(requestSlot(initialSlots(1), 'a', 't'), 't').state;
    s = requestSlot(requestSlot(s, 'a', 't'), 'a', 't');
    expect(s.waiting).toEqual([]);
    const r = grantSlots(s, 't');
    expect(r.grants).toEqual(['a']);
    expect(r.state.holders).toHaveLength(1);
    expect(releaseSlot(releaseSlot(r.state, 'a'), 'a').holders).toEqual([]);
  });

  it('reclaims the slots of dead holders when waiters find it full', () => {
    let s = grantSlots(requestSlot(initialSlots(1), 'dead', 't'), 't').state;
    s = requestSlot(s, 'next', 't');
    expect(needsLivenessAudit(s)).toBe(true);
    s = reclaimSlots(s, ['dead']);
    expect(s.reclaimedEver).toBe(1);
    expect(grantSlots(s, 't').grants).toEqual(['next']);
  });

  it('takes the newest configured capacity', () => {
    expect(requestSlot(initialSlots(), 'a', 't', 5).capacity).toBe(5);
  });
});
