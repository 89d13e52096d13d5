import type { ChatClient, ChatEvent, Conversation } from '../drivers/driver.ts';
import { defaultWaitMs } from '../drivers/driver.ts';
import { ConformanceFailure } from '../verdict/failure.ts';

type Message = Extract<ChatEvent, { kind: 'message' }>;

/** `receiver` gets a message with exactly `body` from `from` in `conversation`, within the wait bound. */
export async function expectMessage(receiver: ChatClient, conversation: Conversation, expected: { from: ChatClient; body: string; timeoutMs?: number }): Promise<Message> {
  const sender = expected.from.account.address;
  const event = await receiver.waitFor(
    (e) => e.kind === 'message' && e.conversation === conversation.id && e.sender === sender && e.body === expected.body,
    { description: `the message "${abbreviate(expected.body)}" from ${sender}`, timeoutMs: expected.timeoutMs ?? defaultWaitMs },
  );
  return event as Message;
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
