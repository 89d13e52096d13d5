/**
 * Judges what several participants of one room saw after everyone sent into it at the same time: every
 * message exactly once, each sender's messages in send order, causality kept, and (where the protocol has
 * one ordering authority) one and the same sequence everywhere.
 */

/** One sent message and what its sender had already received from others when sending it. */
export interface SentMessage {
  sender: string;
  body: string;
  /** Bodies of other people's messages the sender's client had received before this one was sent. */
  seenBefore: string[];
}

/** One participant's view of the room: the bodies, in the order that participant's server presents them. */
export interface RoomView {
  who: string;
  bodies: string[];
}

export interface OrderRules {
  /**
   * true: every view must be the identical sequence (XMPP MUC: the room orders and delivers in that order).
   * false: views may order concurrent messages differently (Matrix: the event graph is a partial order).
   */
  identicalOrder: boolean;
}

/**
 * Everything wrong with the views, one line per problem (empty when all holds):
 * - missing: a sent message absent from a view; duplicated: present more than once; unknown: never sent.
 * - send order: a sender's messages out of the order they were sent.
 * - causality: b shown before a although b's sender had received a before sending b (a happened before b).
 * - identical order (when required): a view differs from the first one.
 */
export function orderViolations(sent: readonly SentMessage[], views: readonly RoomView[], rules: OrderRules): string[] {
  const problems: string[] = [];
  const sentBodies = new Set(sent.map((m) => m.body));
  for (const view of views) {
    const count = new Map<string, number>();
    for (const body of view.bodies) count.set(body, (count.get(body) ?? 0) + 1);
    const missing = sent.filter((m) => !count.has(m.body)).map((m) => m.body);
    if (missing.length > 0) problems.push(`${view.who}: missing ${missing.length}: ${list(missing)}`);
    const duplicated = [...count].filter(([, n]) => n > 1).map(([body, n]) => `${body} (×${n})`);
    if (duplicated.length > 0) problems.push(`${view.who}: duplicated: ${list(duplicated)}`);
    const unknown = [...count.keys()].filter((body) => !sentBodies.has(body));
    if (unknown.length > 0) problems.push(`${view.who}: never sent: ${list(unknown)}`);

    const position = new Map<string, number>();
    view.bodies.forEach((body, index) => { if (!position.has(body)) position.set(body, index); });
    for (const sender of new Set(sent.map((m) => m.sender))) {
      const inSendOrder = sent.filter((m) => m.sender === sender && position.has(m.body)).map((m) => m.body);
      const asShown = [...inSendOrder].sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0));
      const first = inSendOrder.findIndex((body, i) => body !== asShown[i]);
      if (first >= 0) problems.push(`${view.who}: ${sender}'s messages out of send order: shows ${list(asShown.slice(first, first + 3))} where ${list(inSendOrder.slice(first, first + 3))} was sent`);
    }
    for (const message of sent) {
      const after = position.get(message.body);
      if (after === undefined) continue;
      const inverted = message.seenBefore.filter((earlier) => (position.get(earlier) ?? -1) > after);
      if (inverted.length > 0) problems.push(`${view.who}: shows "${message.body}" before ${list(inverted)}, which ${message.sender} had received before sending it`);
    }
  }
  if (rules.identicalOrder) {
    const [reference, ...others] = views;
    for (const view of others) {
      if (!reference) break;
      const index = firstDifference(reference.bodies, view.bodies);
      if (index >= 0) {
        problems.push(`${view.who} and ${reference.who} see different sequences from position ${index + 1}: `
          + `${list(view.bodies.slice(index, index + 3))} vs ${list(reference.bodies.slice(index, index + 3))}`);
      }
    }
  }
  return problems;
}

/** True when every view is the same sequence (for the evidence where it is not required). */
export function sameSequence(views: readonly RoomView[]): boolean {
  const [reference, ...others] = views;
  return !reference || others.every((view) => firstDifference(reference.bodies, view.bodies) < 0);
}

function firstDifference(a: readonly string[], b: readonly string[]): number {
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function list(items: readonly string[], max = 5): string {
  const shown = items.slice(0, max).map((item) => JSON.stringify(item)).join(', ');
  return items.length > max ? `${shown} … (+${items.length - max})` : shown;
}
