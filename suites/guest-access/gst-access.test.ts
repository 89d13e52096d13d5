import { describe } from 'vitest';
import { GuestRefused, type ChatClient } from '../../harness/drivers/driver.ts';
import { operatorLooksUp, operatorRemovesGuest } from '../../harness/provisioning/operator.ts';
import { expectMember, expectMessage } from '../../harness/scenario/expect.ts';
import { scenario, type Session } from '../../harness/scenario/scenario.ts';
import { ConformanceFailure, NotTestable } from '../../harness/verdict/failure.ts';

/**
 * Guest access (eSam B3 §1: the lowest acceptable level of cross-organisation work): an external person with no
 * account at org-a joins one of org-a's rooms as a guest, and stays a limited guest there.
 */

const guestClause = {
  matrix: 'Client-Server API "Guest access": POST /register?kind=guest gives an account with no credentials; '
    + 'a guest may join a room only when its m.room.guest_access state is "can_join", and servers MUST return '
    + 'M_GUEST_ACCESS_FORBIDDEN for the endpoints a guest may not use.',
  xmpp: 'RFC 4505 / XEP-0175 (SASL ANONYMOUS): the server assigns a temporary JID on its anonymous host; '
    + 'XEP-0045 §7.2 "Entering a Room": an open room admits any JID, a members-only room (§10.2) only affiliated ones '
    + '(error <registration-required/>).',
};

/** A guest of org-a, who must be admitted for the scenario to mean anything. */
async function admittedGuest(s: Session): Promise<ChatClient> {
  try {
    return await s.guest('org-a');
  } catch (error) {
    if (error instanceof GuestRefused) throw new ConformanceFailure(`org-a admits no guests: ${error.message}`);
    throw error;
  }
}

/** A guest for scenarios about what guests may do: without guest access at all there is nothing to check. */
async function guestOrNotRun(s: Session): Promise<ChatClient> {
  try {
    return await s.guest('org-a');
  } catch (error) {
    if (error instanceof GuestRefused) throw new NotTestable(`org-a admits no guests at all (${error.message}); GST-JOIN answers that`);
    throw error;
  }
}

/** Runs `attempt`, which the server must refuse; the refusal is noted as evidence. */
async function expectRefused(s: Session, what: string, attempt: () => Promise<unknown>): Promise<void> {
  try {
    await attempt();
  } catch (error) {
    if (error instanceof ConformanceFailure) {
      s.note(`refused as required: ${what}: ${error.message.split('\n')[0]}`);
      return;
    }
    throw error;
  }
  throw new ConformanceFailure(`a guest could ${what}`);
}

describe('GST-JOIN: an external person with no account at org-a takes part in one of its rooms as a guest', () => {
  scenario('a guest of org-a joins alice\'s room opened to guests; the guest and alice read each other', {
    requirements: ['GST-JOIN'],
    clause: guestClause,
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-guests-welcome', { guests: true });
    const guest = await admittedGuest(s);
    s.note(`guest logged in as ${guest.account.address}`);
    const guestRoom = await guest.joinRoom(ref);
    await expectMember(alice, aliceRoom, guest);

    await guest.send(guestRoom, 'Hej! Jag är extern gäst från Länsstyrelsen.');
    await expectMessage(alice, aliceRoom, { from: guest, body: 'Hej! Jag är extern gäst från Länsstyrelsen.' });
    await alice.send(aliceRoom, 'Välkommen, mötet börjar nu.');
    await expectMessage(guest, guestRoom, { from: alice, body: 'Välkommen, mötet börjar nu.' });
  });
});

describe('GST-SCOPE: a guest reaches only rooms opened to guests', () => {
  scenario('a guest of org-a is refused from alice\'s room that is not opened to guests', {
    requirements: ['GST-SCOPE'],
    clause: guestClause,
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const { ref } = await alice.createRoom('fedconf-staff-only', { guests: false });
    const guest = await guestOrNotRun(s);
    await expectRefused(s, `join ${ref}, a room not opened to guests`, () => guest.joinRoom(ref));
  });
});

describe('GST-LIMITS: a guest cannot create rooms, invite others or search the user directory', () => {
  scenario('a guest of org-a inside a guest room tries to create a room, invite a colleague and search the directory', {
    requirements: ['GST-LIMITS'],
    clause: {
      matrix: `${guestClause.matrix} The guest-allowed endpoints are listed there; /createRoom, /rooms/{roomId}/invite and /user_directory/search are not among them.`,
      xmpp: `${guestClause.xmpp} Room creation is the MUC service's policy (XEP-0045 §10.1.1: the service MAY restrict who creates rooms); `
        + 'a user directory is a XEP-0055 search service. A mediated invitation (§7.8.2) into an open room grants nothing the invitee lacks, so only room creation and search are checked.',
    },
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const carol = await s.user('org-a', 'carol');
    const { ref } = await alice.createRoom('fedconf-guest-limits', { guests: true });
    const guest = await guestOrNotRun(s);
    const guestRoom = await guest.joinRoom(ref);

    await expectRefused(s, 'create a room of its own', () => guest.createRoom('fedconf-guest-made'));
    if (s.protocol === 'matrix') await expectRefused(s, `invite ${carol.account.address}`, () => guest.invite(guestRoom, carol.account.address));
    const directory = await guest.searchDirectory(carol.account.localpart).catch((error: unknown) => {
      if (error instanceof ConformanceFailure) return { refused: error.message };
      throw error;
    });
    if ('refused' in directory) s.note(`refused as required: search the user directory: ${directory.refused.split('\n')[0]}`);
    else if (!directory.offered) s.note(`no user directory to search: ${directory.why}`);
    else throw new ConformanceFailure(`a guest could search the user directory of ${s.lab.organisations['org-a'].domain}: found ${directory.found.join(', ') || 'nobody'} for "${carol.account.localpart}"`);
  });
});

describe('GST-HISTORY: a guest sees no history from before they joined unless the room allows it', () => {
  scenario('alice writes in a guest room that keeps history from newcomers; a guest who joins later sees only what follows', {
    requirements: ['GST-HISTORY'],
    clause: {
      matrix: `${guestClause.matrix} "Room history visibility": with m.room.history_visibility "joined", events before a member's join are not visible to them (servers MUST NOT send them).`,
      xmpp: `${guestClause.xmpp} XEP-0045 §7.2.15 "Discussion History": the room MAY send past messages to a new occupant; the owner limits them with muc#roomconfig_historylength (a field Prosody and others offer; XEP-0045 §15.5.3 lists room configuration fields).`,
    },
  }, async (s) => {
    const alice = await s.user('org-a', 'alice');
    const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-guest-history', { guests: true, history: 'joined' });
    const before = 'Före gästen: internt utkast till beslut, ej för externa.';
    const after = 'Efter att gästen anslöt: välkommen!';
    await alice.send(aliceRoom, before);
    const guest = await guestOrNotRun(s);
    const guestRoom = await guest.joinRoom(ref);
    await expectMember(alice, aliceRoom, guest);
    await alice.send(aliceRoom, after);
    await expectMessage(guest, guestRoom, { from: alice, body: after });
    const leaked = guest.messages(guestRoom).filter((m) => m.body === before);
    if (leaked.length > 0) throw new ConformanceFailure(`the guest ${guest.account.address} received "${before}", sent before it joined a room its owner asked to keep history from newcomers (the notes show how the room was configured)`);
  });
});

describe('GST-DISABLE: the operator can switch guest access off entirely', () => {
  scenario('the operator of org-a switches guests off; a guest is then turned away, and admitted again once switched back on', {
    requirements: ['GST-DISABLE'],
    clause: {
      ...guestClause,
      matrix: `${guestClause.matrix} With guest access off, POST /register?kind=guest answers 403 M_GUEST_ACCESS_FORBIDDEN.`,
      xmpp: `${guestClause.xmpp} With no anonymous host the server answers the guest's stream with <host-unknown/> (RFC 6120 §4.9.3.6) or refuses SASL ANONYMOUS (RFC 6120 §6.5).`,
    },
  }, async (s) => {
    const before = await guestOrNotRun(s);
    s.note(`before: guest admitted as ${before.account.address}`);
    await before.close();
    await s.control('reconfigure', 'org-a', { guests: false });
    try {
      const after = await s.guest('org-a').catch((error: unknown) => {
        if (error instanceof GuestRefused) return error;
        throw error;
      });
      if (!(after instanceof GuestRefused)) {
        throw new ConformanceFailure(`guest access switched off, yet org-a admitted a guest as ${after.account.address}`);
      }
      s.note(`switched off: ${after.message}`);
    } finally {
      // Back to the product's own settings, so later scenarios meet the deployment as declared.
      await s.control('reconfigure', 'org-a', {});
    }
  });
});

/** The host part of a Matrix user id or a JID. */
const hostOf = (address: string): string => address.replace(/^@/, '').split(/[:@]/).slice(1).join(':').split('/')[0] ?? '';

describe('GST-MARKED: guests are distinguishable from internal users by every participant and by the operator', () => {
  scenario('a guest and alice\'s colleague carol are in alice\'s room: alice\'s client and the operator of org-a tell which one is the guest', {
    requirements: ['GST-MARKED'],
    clause: {
      matrix: `${guestClause.matrix} The spec defines no guest marker in m.room.member (its content has membership, displayname, avatar_url, …); `
        + 'a server may add one (Synapse adds "kind": "guest" to a guest\'s member event, which every member\'s client receives). '
        + 'A guest\'s user id follows no rule a remote participant could rely on (Synapse\'s numeric localparts are a local convention). '
        + 'The operator\'s view: the server\'s admin API (Synapse GET /_synapse/admin/v2/users/<id>: is_guest). KS 1.1.4.',
      xmpp: `${guestClause.xmpp} XEP-0045 §7.2.3 / §7.2.4: in a non-anonymous room every occupant receives each occupant's real JID `
        + '(<item jid=…/>); a guest\'s JID is on the organisation\'s anonymous host (guest.<domain>), where no internal account can exist. '
        + 'The operator\'s view: the server\'s session listing per host (prosodyctl shell c2s show, ejabberdctl connected_users_vhost). KS 1.1.4.',
    },
  }, async (s) => {
    const org = s.lab.organisations['org-a'];
    const alice = await s.user('org-a', 'alice');
    const carol = await s.user('org-a', 'carol');
    const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-guest-marked', { guests: true });
    const guest = await guestOrNotRun(s);
    await guest.joinRoom(ref);
    await carol.joinRoom(ref);
    await expectMember(alice, aliceRoom, guest);
    await expectMember(alice, aliceRoom, carol);

    // Every participant: what alice's client is told about each member.
    const guestCard = await alice.memberRecord(aliceRoom, guest.account.address);
    const carolCard = await alice.memberRecord(aliceRoom, carol.account.address);
    s.note(`alice's client on the guest ${guest.account.address}: ${JSON.stringify(guestCard)}`);
    s.note(`alice's client on carol ${carol.account.address}: ${JSON.stringify(carolCard)}`);
    if (!guestCard || !carolCard) throw new Error('alice\'s client has no record of a member it saw join');
    if (s.protocol === 'matrix') {
      if (guestCard.kind !== 'guest' || carolCard.kind === 'guest') {
        throw new ConformanceFailure(`nothing in the guest's m.room.member event tells alice it is a guest (content ${JSON.stringify(guestCard)}, carol's ${JSON.stringify(carolCard)}); `
          + `only the user id ${guest.account.address}, which follows no rule a participant can rely on`);
      }
      s.note('participants: the guest\'s member event carries "kind": "guest" (a server extension, not in the spec\'s m.room.member schema; a client must show it)');
    } else {
      const guestHost = hostOf(String(guestCard.jid ?? ''));
      const carolHost = hostOf(String(carolCard.jid ?? ''));
      if (!org.guestDomain || guestHost !== org.guestDomain || carolHost !== org.domain || org.guestDomain === org.domain) {
        throw new ConformanceFailure(`alice cannot tell the guest from carol by their real JIDs: guest on ${guestHost || '(hidden)'}, carol on ${carolHost || '(hidden)'}, the organisation's guest host is ${org.guestDomain ?? '(none)'}`);
      }
      s.note(`participants: the guest's real JID is on the anonymous host ${guestHost}, carol's on ${carolHost}`);
    }

    // The operator: the server's admin tools.
    const operatorOnGuest = await operatorLooksUp(org, guest.account.address);
    const operatorOnCarol = await operatorLooksUp(org, carol.account.address);
    if (!operatorOnGuest || !operatorOnCarol) throw new NotTestable(`${org.name}: the declaration gives the harness no admin access (${org.provisioning.method}); the participants' view held`);
    s.note(`operator: ${operatorOnGuest.command} → ${operatorOnGuest.status ?? ''} ${operatorOnGuest.answer}`);
    s.note(`operator: ${operatorOnCarol.command} → ${operatorOnCarol.status ?? ''} ${operatorOnCarol.answer}`);
    if (s.protocol === 'matrix') {
      if (operatorOnGuest.status !== 200 || operatorOnGuest.fields?.is_guest !== true || operatorOnCarol.fields?.is_guest !== false) {
        throw new ConformanceFailure(`the operator's admin API does not tell the guest from carol: ${operatorOnGuest.command} → ${operatorOnGuest.status} is_guest=${String(operatorOnGuest.fields?.is_guest)}`);
      }
    } else if (!operatorOnGuest.answer.includes(guest.account.address) || operatorOnCarol.answer.includes(guest.account.address)) {
      throw new ConformanceFailure(`the operator's session listing does not show the guest ${guest.account.address} apart from the organisation's users`);
    }
  });
});

describe('GST-REVOKE: the operator can end a guest\'s session and remove the guest from rooms', () => {
  scenario('the operator of org-a removes a guest talking in alice\'s room; alice sees the guest leave and the guest\'s session is refused', {
    requirements: ['GST-REVOKE'],
    clause: {
      matrix: `${guestClause.matrix} The operator acts through the server's admin API (Synapse POST /_synapse/admin/v1/deactivate/<user>: `
        + 'logs out every device and leaves every room; a guest\'s token is a macaroon the server does not store, so the account is also locked, '
        + 'PUT /_synapse/admin/v2/users/<user> locked: true); §"Using access tokens": a revoked token gets 401.',
      xmpp: `${guestClause.xmpp} RFC 6120 §4.4: the server may close a stream at any time; XEP-0045 §7.14: when an occupant's session ends `
        + 'the room tells the others it left (presence unavailable). The operator ends the session with the server\'s admin command.',
    },
  }, async (s) => {
    const org = s.lab.organisations['org-a'];
    const alice = await s.user('org-a', 'alice');
    const { conversation: aliceRoom, ref } = await alice.createRoom('fedconf-guest-revoke', { guests: true });
    const guest = await guestOrNotRun(s);
    const guestRoom = await guest.joinRoom(ref);
    await expectMember(alice, aliceRoom, guest);
    await guest.send(guestRoom, 'Gästen skriver innan operatören ingriper.');
    await expectMessage(alice, aliceRoom, { from: guest, body: 'Gästen skriver innan operatören ingriper.' });

    const answers = await operatorRemovesGuest(org, guest.account.address);
    if (!answers) throw new NotTestable(`${org.name}: the declaration gives the harness no admin access (${org.provisioning.method})`);
    for (const a of answers) s.note(`operator: ${a.command} → ${a.status ?? ''} ${a.answer || '(no output)'}`);
    const refused = answers.find((a) => a.status !== undefined && a.status !== 200);
    if (refused) throw new ConformanceFailure(`the operator could not remove the guest: ${refused.command} → ${refused.status} ${refused.answer}`);

    await alice.waitFor((e) => e.kind === 'member' && e.conversation === aliceRoom.id && e.member === guest.account.address && e.membership === 'leave', {
      description: `alice sees the guest ${guest.account.address} leave the room after the operator removed it`,
      timeoutMs: 20_000,
    });
    s.note('alice saw the guest leave');
    const members = await alice.members(aliceRoom);
    if (members.includes(guest.account.address)) throw new ConformanceFailure(`the removed guest is still listed as a member: ${members.join(', ')}`);

    // The session must be over too, not just the membership: the guest's next request is refused (Matrix: 401 for its
    // token; a 403 "not in room" means the token still works) or finds no stream (XMPP), and nothing reaches alice.
    const late = 'Gästen försöker skriva efter att ha tagits bort.';
    const attempt = await Promise.race([
      guest.send(guestRoom, late).then(() => 'accepted', (error: unknown) => `refused: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`),
      new Promise<string>((resolve) => { setTimeout(() => resolve('no answer within 10 s'), 10_000).unref(); }),
    ]);
    s.note(`the removed guest tries to post with its old session: ${attempt}`);
    if (s.protocol === 'matrix' && !/HTTP 401\b/.test(attempt)) {
      throw new ConformanceFailure(`the operator removed the guest ${guest.account.address} from the room, but its session still works (its access token was not refused: ${attempt})`);
    }
    const arrived = await alice.waitFor((e) => e.kind === 'message' && e.conversation === aliceRoom.id && e.body === late, { description: 'the removed guest\'s message', timeoutMs: 5_000 })
      .then(() => true, (error: unknown) => {
        if (error instanceof ConformanceFailure) return false;
        throw error;
      });
    if (arrived) throw new ConformanceFailure(`the guest ${guest.account.address} removed by the operator still posted into alice's room`);
  });
});
