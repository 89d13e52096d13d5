import { readFileSync } from 'node:fs';
import { create } from 'xmlbuilder2';
import type { ExportedMessage } from './export.ts';

/** Reading XEP-0227 (Portable Import/Export Format for XMPP-IM Servers) files as the products' export tools write them. */

export const xep0227Format = 'XML, XEP-0227 (Portable Import/Export Format for XMPP-IM Servers): <server-data><host><user>, messages as XEP-0313 results with XEP-0203 delay stamps';

/** What XEP-0227 files hold: their messages, and what `address`'s own section holds (each file parsed once). */
export function readXep0227(files: string[], address: string): { messages: Array<ExportedMessage & { recipient: string }>; userHolds: string } {
  const docs = files.map(xmlDocument);
  return { messages: docs.flatMap(messagesIn), userHolds: userHolds(docs, address) };
}

/**
 * Every <message> with a <body> anywhere in a XEP-0227 document: archived ones (XEP-0313 <result><forwarded> with
 * the <delay> beside the message) and stored ones (offline messages, <delay> inside). Sender and recipient are the
 * message's own from / to.
 */
function messagesIn(doc: Document): Array<ExportedMessage & { recipient: string }> {
  const delayOf = (el: Element | null): string | undefined =>
    el ? childElements(el).find((c) => c.localName === 'delay' && c.namespaceURI === 'urn:xmpp:delay')?.getAttribute('stamp') ?? undefined : undefined;
  return [...doc.getElementsByTagNameNS('*', 'message')].flatMap((message) => {
    const body = childElements(message).find((c) => c.localName === 'body')?.textContent;
    if (body == null) return [];
    const stamp = delayOf(message) ?? delayOf(message.parentElement);
    return [{ sender: message.getAttribute('from') ?? '', recipient: message.getAttribute('to') ?? '', body, timestamp: stamp ? Date.parse(stamp) : Number.NaN }];
  });
}

/** The element names inside `address`'s <host jid><user name> (e.g. "query (jabber:iq:roster), vCard"). */
function userHolds(docs: Document[], address: string): string {
  const at = address.lastIndexOf('@');
  const [localpart, host] = [address.slice(0, at), address.slice(at + 1)];
  const users = docs.flatMap((doc) => [...doc.getElementsByTagNameNS('*', 'user')]
    .filter((u) => u.getAttribute('name') === localpart && u.parentElement?.getAttribute('jid') === host));
  if (users.length === 0) return `no <user name="${localpart}"> under <host jid="${host}">`;
  const held = users.flatMap((u) => childElements(u).map((c) => `${c.localName} (${c.namespaceURI ?? 'no namespace'})`));
  return held.length ? held.join(', ') : 'an empty <user> element';
}

/** An element's own child elements (xmlbuilder2's DOM gives every descendant as `children`). */
function childElements(el: Element): Element[] {
  return [...el.childNodes].filter((n): n is Element => n.nodeType === 1);
}

function xmlDocument(file: string): Document {
  return create(readFileSync(file, 'utf8')).node as unknown as Document;
}

