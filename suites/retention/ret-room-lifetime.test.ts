import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe } from 'vitest';
import type { SentMessage } from '../../harness/drivers/driver.ts';
import { scenario } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure, NotTestable, ifLacking } from '../../harness/verdict/failure.ts';
import { reconfiguredForThisFile } from './reconfigure.ts';

const reconfigure = reconfiguredForThisFile();

/**
 * RET-POLICY, per room: org-a allows lifetimes up to a minute server-wide; alice's room sets its own, much shorter one.
 * Written so the per-room lifetime is measured without the races docs/retention-status.md describes: the room's
 * lifetime is below the server's maximum (Synapse clamps a room's policy when purging, not when serving), a closing
 * message follows the checked ones (a room's newest event is never purged), and no other server is in the room (a
 * peer could back-fill purged events into /messages).
 */

/** The server's lifetime and maximum: long enough that it cannot be what removes the messages. */
const serverLifetimeSeconds = 60;
const roomLifetimeSeconds = 10;
/** How long after the room's lifetime the messages may take to disappear before it counts as not applied. */
const disappearBoundMs = 20_000;
const pollEveryMs = 1_000;

describe('RET-POLICY: a room\'s own lifetime (m.room.retention) removes its messages', () => {
  scenario(`alice's room at org-a sets a ${roomLifetimeSeconds} s lifetime of its own (the server's is ${serverLifetimeSeconds} s); her messages are gone from every read path soon after ${roomLifetimeSeconds} s, a later one is still there`, {
    requirements: ['RET-POLICY'],
    clause: {
      matrix: 'Matrix "Message retention policies" (MSC1763, as Synapse implements it): a room\'s m.room.retention state event '
        + 'sets max_lifetime (ms) for that room, within the server\'s allowed_lifetime_min/max; events older than it are no longer '
        + 'served and are purged. Requirement RET-POLICY: "A maximum lifetime can be set (server-wide and/or per room)".',
      xmpp: 'XEP-0045 / XEP-0313 define no per-room lifetime (a room archive\'s retention is the server\'s policy, XEP-0313 §8).',
    },
  }, async (s) => {
    if (s.protocol === 'xmpp') throw new NotTestable('XMPP rooms have no lifetime of their own (XEP-0313 §8 leaves retention to the server); the server-wide lifetime is the other RET-POLICY scenario');
    await ifLacking(() => reconfigure(s, 'org-a', { retentionSeconds: serverLifetimeSeconds }),
      (why) => new NotTestable(`no retention at all: ${why} (the server-wide RET-POLICY scenario answers this)`));
    const alice = await s.user('org-a', 'alice');
    const { conversation: room } = await alice.createRoom('fedconf-room-lifetime', { retentionSeconds: roomLifetimeSeconds });
    const token = randomBytes(3).toString('hex');
    const checked: SentMessage[] = [];
    for (const n of [1, 2, 3]) {
      const body = `Rumsgallring ${token} ${n}`;
      checked.push({ id: await alice.send(room, body), body });
    }
    const lastSentAt = Date.now();
    // Not the room's newest event once the checked ones expire (Synapse never purges a room's newest event).
    await sleep(roomLifetimeSeconds * 500);
    const closing = { body: `Rumsgallring ${token} avslut`, id: '' };
    closing.id = await alice.send(room, closing.body);
    s.note(`configured: org-a server-wide lifetime and allowed maximum ${serverLifetimeSeconds} s; the room's m.room.retention max_lifetime ${roomLifetimeSeconds} s; only org-a is in the room`);

    const before = await alice.readBack(room, checked);
    const paths = before.filter((p) => p.readable.length === checked.length).map((p) => p.path);
    if (!paths.length) throw new ConformanceFailure('no read path of org-a gave the messages back right after they were sent');
    for (const p of before.filter((b) => !paths.includes(b.path))) s.note(`${p.path} gave ${p.readable.length} of ${checked.length} messages right after they were sent; not used`);

    const expiredAt = lastSentAt + roomLifetimeSeconds * 1000;
    await sleep(Math.max(0, expiredAt - Date.now()));
    const goneAfterMs: Record<string, number> = {};
    let last = before;
    while (Date.now() < expiredAt + disappearBoundMs) {
      const now = Date.now();
      last = await alice.readBack(room, [...checked, closing]);
      for (const path of paths) {
        const still = last.find((p) => p.path === path)?.readable.some((id) => id !== closing.id) ?? true;
        if (!still && goneAfterMs[path] === undefined) goneAfterMs[path] = now - expiredAt;
      }
      if (paths.every((p) => goneAfterMs[p] !== undefined)) break;
      await sleep(pollEveryMs);
    }
    for (const path of paths) {
      const closingThere = last.find((p) => p.path === path)?.readable.includes(closing.id) ?? false;
      s.note(`${path}: the room's messages ${goneAfterMs[path] === undefined ? `still readable ${disappearBoundMs} ms after its lifetime` : `gone ${goneAfterMs[path]} ms after its lifetime`}; the later message ${closingThere ? 'still readable' : 'not readable'} at the end`);
    }
    const kept = paths.filter((p) => goneAfterMs[p] === undefined);
    if (kept.length) throw new ConformanceFailure(`the room's own ${roomLifetimeSeconds} s lifetime was not applied: org-a still gives its messages ${disappearBoundMs} ms later through ${kept.join(', ')} (the server's own lifetime is ${serverLifetimeSeconds} s)`);
  });
});
