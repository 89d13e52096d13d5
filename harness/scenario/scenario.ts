import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import * as allure from 'allure-js-commons';
import { inject, it } from 'vitest';
import { driverFor } from '../drivers/index.ts';
import type { Account, ChatClient, ProtocolDriver } from '../drivers/driver.ts';
import type { EncryptedMatrixClient } from '../drivers/matrix-crypto.ts';
import type { OmemoXmppClient } from '../drivers/xmpp-omemo.ts';
import type { LabSettings } from '../lab/native/adapter.ts';
import { NotTestable, ProductLacks } from '../verdict/failure.ts';
import { request } from 'undici';
import type { LabControl, LabDescription, OrganisationDescription, OrgName, Protocol } from '../lab/types.ts';
import { provisionAccount } from '../provisioning/index.ts';
import './context.ts';

/** The clause a scenario relies on, quoted per protocol, so a failure explains itself. */
export type Clause = Partial<Record<Protocol, string>>;

export interface ScenarioSpec {
  requirements: string[];
  clause: Clause;
  /**
   * A federation scenario that, when org-a and org-b run different implementations, also evidences
   * FED-INTEROP (KS 1.6.9: instances of different vendors federate).
   */
  interop?: boolean;
}

/** The people and servers one scenario works with. Clients are closed when the scenario ends. */
export class Session {
  private readonly clients: Array<Pick<ChatClient, 'account' | 'transcript' | 'close'>> = [];
  /** Lines a scenario records itself (probe results), written to the evidence before the clients' transcripts. */
  private readonly notes: string[] = [];
  readonly driver: ProtocolDriver;
  /** Time spent waiting on the servers (provisioning and every client call), for the benchmark's split. */
  serverWaitMs = 0;

  constructor(readonly lab: LabDescription) {
    this.driver = driverFor(lab);
  }

  get protocol(): Protocol {
    return this.driver.protocol;
  }

  /** A fresh user homed on `org`, logged in. `name` is for humans; a random suffix keeps runs apart. */
  async user(org: OrgName, name: string): Promise<ChatClient> {
    const account = await this.timed(() => provisionAccount(this.lab.organisations[org], `${name}-${randomBytes(3).toString('hex')}`));
    const client = this.timing(await this.timed(() => this.driver.connect(account)));
    this.clients.push(client);
    return client;
  }

  /**
   * A fresh user on `org` with a crypto-capable Matrix client (Olm/Megolm), for the e2ee suite only: the crypto
   * module (Rust WASM) is loaded here, on demand, so no other scenario pays for it. XMPP labs: NOT-RUN for now.
   */
  async encryptedUser(org: OrgName, name: string): Promise<EncryptedMatrixClient> {
    if (this.protocol !== 'matrix') throw new NotTestable(`a Matrix (Olm/Megolm) scenario; the ${this.protocol} lab runs the OMEMO scenarios instead`);
    const { connectEncrypted } = await import('../drivers/matrix-crypto.ts');
    const account = await this.timed(() => provisionAccount(this.lab.organisations[org], `${name}-${randomBytes(3).toString('hex')}`));
    const client = await this.timed(() => connectEncrypted(account));
    this.clients.push(client);
    return client;
  }

  /** Another crypto-capable device (a new login) for an existing account, e.g. an encryptedUser's second device. */
  async encryptedLogin(account: Account): Promise<EncryptedMatrixClient> {
    const { connectEncrypted } = await import('../drivers/matrix-crypto.ts');
    const client = await this.timed(() => connectEncrypted(account));
    this.clients.push(client);
    return client;
  }

  /**
   * A fresh user on `org` with an OMEMO client (XEP-0384 0.3, Signal protocol), for the e2ee suite only: the
   * Signal library is loaded here, on demand, as encryptedUser loads Matrix crypto. Matrix labs: NOT-RUN.
   */
  async omemoUser(org: OrgName, name: string): Promise<OmemoXmppClient> {
    if (this.protocol !== 'xmpp') throw new NotTestable(`an XMPP (OMEMO) scenario; the ${this.protocol} lab runs the Olm/Megolm scenarios instead`);
    const account = await this.timed(() => provisionAccount(this.lab.organisations[org], `${name}-${randomBytes(3).toString('hex')}`));
    return this.omemoLogin(account);
  }

  /** Another OMEMO device (a new session with its own keys) for an existing account, e.g. an omemoUser's second device. */
  async omemoLogin(account: Account): Promise<OmemoXmppClient> {
    const { connectOmemo } = await import('../drivers/xmpp-omemo.ts');
    const client = await this.timed(() => connectOmemo(account));
    this.clients.push(client);
    return client;
  }

  /**
   * A guest of `org` (no account there), logged in. Throws GuestRefused when the server turns guests away; the
   * scenario decides whether that is the expected answer.
   */
  async guest(org: OrgName): Promise<ChatClient> {
    const client = this.timing(await this.timed(() => this.driver.connectGuest(this.lab.organisations[org])));
    this.clients.push(client);
    return client;
  }

  private async timed<T>(call: () => Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await call();
    } finally {
      this.serverWaitMs += performance.now() - start;
    }
  }

  /** The same client, with the time of every asynchronous call added to serverWaitMs. */
  private timing(client: ChatClient): ChatClient {
    return new Proxy(client, {
      get: (target, property, receiver) => {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function' || property === 'close') return value;
        return (...args: unknown[]) => {
          const start = performance.now();
          const result: unknown = value.apply(target, args);
          if (!(result instanceof Promise)) return result;
          return result.finally(() => { this.serverWaitMs += performance.now() - start; });
        };
      },
    });
  }

  /** A new session for an existing account (e.g. after the user's server restarted). */
  async login(account: Account): Promise<ChatClient> {
    const client = this.timing(await this.timed(() => this.driver.connect(account)));
    this.clients.push(client);
    return client;
  }

  /**
   * A lifecycle step on one organisation (stop, start, restart, reconfigure); resolves when done and
   * healthy. A lab without that control makes the scenario NOT-RUN, with the reason; settings the product has no
   * mechanism for throw ProductLacks (the organisation keeps running as it was).
   */
  async control(action: LabControl, org: OrgName, settings?: LabSettings): Promise<OrganisationDescription> {
    const endpoint = inject('labControl');
    if (!this.lab.controls.includes(action) || !endpoint) {
      throw new NotTestable(`the ${this.lab.provider} lab offers no '${action}' control, which this scenario needs`);
    }
    const response = await request(endpoint.url, {
      method: 'POST', headers: { authorization: `Bearer ${endpoint.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ action, org, ...(settings ? { settings } : {}) }), headersTimeout: 180_000, bodyTimeout: 180_000,
    });
    const body = await response.body.json() as OrganisationDescription & { error?: string };
    if (response.statusCode === 422) throw new ProductLacks(body.error ?? `${org}'s product has no mechanism for ${JSON.stringify(settings)}`);
    if (response.statusCode !== 200) throw new Error(`lab control ${action} ${org} failed: ${body.error ?? response.statusCode}`);
    this.lab.organisations[org] = body;
    return body;
  }

  /** Records one line of evidence (e.g. what a probe saw) in the test's transcript. */
  note(text: string): void {
    this.notes.push(text);
  }

  transcript(): string {
    const notes = this.notes.length > 0 ? `== notes\n${this.notes.join('\n')}\n\n` : '';
    return notes + this.clients.map((c) => `== ${c.account.address}\n${c.transcript().join('\n')}`).join('\n\n');
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.clients.map((c) => c.close()));
  }
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80);
}

/**
 * One conformance test: it names the requirements it evidences and the clause it relies on, runs
 * against whichever protocol the lab's product speaks, and always leaves its transcript as evidence.
 */
export function scenario(title: string, spec: ScenarioSpec, body: (session: Session) => Promise<void>): void {
  const lab = inject('lab');
  const protocol = lab.organisations['org-a'].protocol;
  const clause = spec.clause[protocol];
  const crossImplementation = lab.organisations['org-a'].implementation !== lab.organisations['org-b'].implementation;
  const requirements = spec.interop && crossImplementation ? [...spec.requirements, 'FED-INTEROP'] : spec.requirements;
  it(title, { meta: { requirements, ...(clause ? { clause } : {}) } }, async (context) => {
    await allure.tags(...requirements);
    for (const id of requirements) await allure.label('requirement', id);
    if (clause) await allure.description(`Clause: ${clause}`);
    const session = new Session(lab);
    try {
      await body(session);
    } finally {
      const evidenceDir = inject('evidenceDir');
      const file = join(evidenceDir, `${slug(basename(context.task.file.name, '.test.ts'))}--${slug(title)}.txt`);
      const text = `${title}\nRequirements: ${requirements.join(', ')}\nClause: ${clause ?? '-'}\n\n${session.transcript()}\n`;
      mkdirSync(evidenceDir, { recursive: true });
      writeFileSync(file, text);
      context.task.meta.evidence = [join('evidence', basename(file))];
      context.task.meta.serverWaitMs = Math.round(session.serverWaitMs);
      await allure.attachment('transcript', text, 'text/plain');
      await session.close();
    }
  });
}
