import { describe, expect, it } from 'vitest';
import { orderViolations, sameSequence, type SentMessage } from '../../harness/scenario/room-order.ts';

// alice sent a1, a2; bob sent b1 concurrently, then b2 after he had received a1.
const sent: SentMessage[] = [
  { sender: 'alice', body: 'a1', seenBefore: [] },
  { sender: 'bob', body: 'b1', seenBefore: [] },
  { sender: 'alice', body: 'a2', seenBefore: [] },
  { sender: 'bob', body: 'b2', seenBefore: ['a1'] },
];
const loose = { identicalOrder: false };
const strict = { identicalOrder: true };

describe('orderViolations: the concurrency scenario\'s verdict on what each participant saw', () => {
  it('accepts two views that linearise concurrent messages differently, unless one sequence is required', () => {
    const views = [{ who: 'alice', bodies: ['a1', 'a2', 'b1', 'b2'] }, { who: 'bob', bodies: ['b1', 'a1', 'b2', 'a2'] }];
    expect(orderViolations(sent, views, loose)).toEqual([]);
    expect(sameSequence(views)).toBe(false);
    expect(orderViolations(sent, views, strict)).toEqual([expect.stringMatching(/^bob and alice see different sequences from position 1/)]);
  });

  it('accepts identical views under the strict rule', () => {
    const views = [{ who: 'alice', bodies: ['a1', 'b1', 'a2', 'b2'] }, { who: 'bob', bodies: ['a1', 'b1', 'a2', 'b2'] }];
    expect(orderViolations(sent, views, strict)).toEqual([]);
    expect(sameSequence(views)).toBe(true);
  });

  it('reports a lost, a duplicated and an unknown message', () => {
    const views = [{ who: 'bob', bodies: ['a1', 'b1', 'b1', 'b2', 'x9'] }];
    expect(orderViolations(sent, views, loose)).toEqual([
      'bob: missing 1: "a2"',
      'bob: duplicated: "b1 (×2)"',
      'bob: never sent: "x9"',
    ]);
  });

  it('reports a sender\'s messages out of send order', () => {
    const views = [{ who: 'bob', bodies: ['a2', 'a1', 'b1', 'b2'] }];
    expect(orderViolations(sent, views, loose)).toEqual([
      'bob: alice\'s messages out of send order: shows "a2", "a1" where "a1", "a2" was sent',
    ]);
  });

  it('reports a message shown before one its sender had already received', () => {
    const views = [{ who: 'alice', bodies: ['b1', 'b2', 'a1', 'a2'] }];
    expect(orderViolations(sent, views, loose)).toEqual([
      'alice: shows "b2" before "a1", which bob had received before sending it',
    ]);
  });
});
