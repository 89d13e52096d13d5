import type { ChatClient, ChatEvent, Conversation } from '../drivers/driver.ts';
import { defaultWaitMs } from '../drivers/driver.ts';
import { ConformanceFailure } from '../verdict/failure.ts';

type Message = Extract<ChatEvent, { kind: 'message' }>;
type Edit = Extract<ChatEvent, { kind: 'edit' }>;
type Retraction = Extract<ChatEvent, { kind: 'retraction' }>;
type Reaction = Extract<ChatEvent, { kind: 'reaction' }>;

/** `receiver` gets a message with exactly `body` from `from` in `conversation`, within the wait bound. */
export async function expectMessage(receiver: ChatClient, conversation: Conversation, expected: { from: ChatClient; body: string; timeoutMs?: number }): Promise<Message> {
  const sender = expected.from.account.address;
  const event = await receiver.waitFor(
    (e) => e.kind === 'message' && e.conversation === conversation.id && e.sender === sender && e.body === expected.body,
    { description: `the message "${abbreviate(expected.body)}" from ${sender}`, timeoutMs: expected.timeoutMs ?? defaultWaitMs },
  );
  return event as Message;
}

/**
 * `receiver` sees `from` replace the message it knows as `target` with exactly `body`. An edit that arrives
 * as a new plain message (relation stripped), with another body or for another message does not count.
 */
export async function expectEdit(receiver: ChatClient, conversation: Conversation, expected: { from: ChatClient; target: string; body: string; timeoutMs?: number }): Promise<Edit> {
  const sender = expected.from.account.address;
  const event = await receiver.waitFor(
    (e) => e.kind === 'edit' && e.conversation === conversation.id && e.sender === sender && e.target === expected.target && e.body === expected.body,
    { description: `${sender}'s edit of message ${expected.target} to "${abbreviate(expected.body)}"`, timeoutMs: expected.timeoutMs ?? defaultWaitMs },
  );
  return event as Edit;
}

/** `receiver` sees `from` withdraw the message it knows as `target`. */
export async function expectRetraction(receiver: ChatClient, conversation: Conversation, expected: { from: ChatClient; target: string; timeoutMs?: number }): Promise<Retraction> {
  const sender = expected.from.account.address;
  const event = await receiver.waitFor(
    (e) => e.kind === 'retraction' && e.conversation === conversation.id && e.sender === sender && e.target === expected.target,
    { description: `${sender}'s deletion of message ${expected.target}`, timeoutMs: expected.timeoutMs ?? defaultWaitMs },
  );
  return event as Retraction;
}

/** `receiver` sees `from` react with `key` to the message it knows as `target`. */
export async function expectReaction(receiver: ChatClient, conversation: Conversation, expected: { from: ChatClient; target: string; key: string; timeoutMs?: number }): Promise<Reaction> {
  const sender = expected.from.account.address;
  const event = await receiver.waitFor(
    (e) => e.kind === 'reaction' && e.conversation === conversation.id && e.sender === sender && e.target === expected.target && e.key === expected.key,
    { description: `${sender}'s reaction ${expected.key} to message ${expected.target}`, timeoutMs: expected.timeoutMs ?? defaultWaitMs },
  );
  return event as Reaction;
}

/** `watcher` sees `member` joined to the room, through its own server. */
export async function expectMember(watcher: ChatClient, conversation: Conversation, member: ChatClient): Promise<void> {
  const address = member.account.address;
  await watcher.waitFor((e) => e.kind === 'member' && e.conversation === conversation.id && e.member === address && e.membership === 'join',
    { description: `${address} joining ${conversation.id}` });
  const members = await watcher.members(conversation);
  if (!members.includes(address)) {
    throw new ConformanceFailure(`${watcher.account.address}'s server lists the members of ${conversation.id} as [${members.join(', ')}], without ${address}`);
  }
}

export function abbreviate(text: string, length = 60): string {
  return text.length <= length ? text : `${text.slice(0, length)}… (${text.length} characters)`;
}
