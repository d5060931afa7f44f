import { MatrixError } from '../../protocol/index.js';

/**
 * CAS (Apereo's Central Authentication Service, protocol 2.0/3.0) as a single sign-on provider: the
 * browser goes to the CAS server's /login with our `service` URL; CAS sends it back there with a `ticket`,
 * which we validate at /proxyValidate, answered in XML. Pure: the HTTP call is the caller's.
 */

export interface CasValidation {
  readonly user: string;
  /** cas:attributes, each name with its values in order (an attribute may repeat). */
  readonly attributes: Readonly<Record<string, readonly string[]>>;
}

/** Where the browser signs in at the CAS server (`serverUrl` without a trailing slash). */
export function casLoginUrl(serverUrl: string, service: string): string {
  return `${serverUrl}/login?service=${encodeURIComponent(service)}`;
}

/** Where the ticket is validated. */
export function casValidateUrl(serverUrl: string, service: string, ticket: string): string {
  return `${serverUrl}/proxyValidate?${new URLSearchParams({ ticket, service }).toString()}`;
}

interface XmlElement {
  /** The name without its namespace prefix. */
  readonly name: string;
  readonly children: XmlElement[];
  text: string;
}

const ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return ENTITIES[entity] ?? whole;
  });
}

/**
 * Enough of XML for CAS's answers: elements (namespace prefixes dropped, attributes ignored), text and
 * CDATA; comments, processing instructions and the doctype skipped. Throws on mismatched tags.
 */
function parseXml(xml: string): XmlElement {
  const root: XmlElement = { name: '', children: [], text: '' };
  const open: XmlElement[] = [root];
  const token = /<!\[CDATA\[([\s\S]*?)\]\]>|<!--[\s\S]*?-->|<\?[\s\S]*?\?>|<!DOCTYPE[^>]*>|<\/\s*([^\s>]+)\s*>|<([^\s>/]+)[^>]*?(\/?)>|([^<]+)/gy;
  let read = 0;
  for (let match = token.exec(xml); match !== null; match = token.exec(xml)) {
    read = token.lastIndex;
    const [, cdata, closing, opening, selfClosing, text] = match;
    const current = open[open.length - 1]!;
    if (cdata !== undefined) {
      current.text += cdata;
    } else if (closing !== undefined) {
      const name = closing.replace(/^.*:/, '');
      if (open.length === 1 || current.name !== name) throw new Error(`unexpected </${closing}>`);
      open.pop();
    } else if (opening !== undefined) {
      const element: XmlElement = { name: opening.replace(/^.*:/, ''), children: [], text: '' };
      current.children.push(element);
      if (selfClosing !== '/') open.push(element);
    } else if (text !== undefined) {
      current.text += decodeEntities(text);
    }
  }
  if (read < xml.length) throw new Error(`unexpected text at character ${read}`);
  if (open.length !== 1) throw new Error(`<${open[open.length - 1]!.name}> is not closed`);
  return root;
}

function child(element: XmlElement | undefined, name: string): XmlElement | undefined {
  return element?.children.find((c) => c.name === name);
}

/**
 * The person a /proxyValidate (or /serviceValidate) answer names, with their attributes; M_FORBIDDEN when
 * the CAS server refused the ticket, and M_UNKNOWN when the answer cannot be read.
 */
export function parseCasValidation(xml: string): CasValidation {
  let document: XmlElement;
  try {
    document = parseXml(xml);
  } catch (err) {
    throw new MatrixError('M_UNKNOWN', `The CAS server's answer is not XML we can read (${(err as Error).message})`, { status: 502 });
  }
  const response = child(document, 'serviceResponse');
  const failure = child(response, 'authenticationFailure');
  if (failure !== undefined) {
    throw new MatrixError('M_FORBIDDEN', `The CAS server refused the ticket: ${failure.text.trim() || 'no reason given'}`);
  }
  const success = child(response, 'authenticationSuccess');
  const user = child(success, 'user')?.text.trim();
  if (user === undefined || user === '') {
    throw new MatrixError('M_UNKNOWN', 'The CAS server answered without cas:authenticationSuccess and cas:user', { status: 502 });
  }
  const attributes: Record<string, string[]> = {};
  for (const attribute of child(success, 'attributes')?.children ?? []) {
    (attributes[attribute.name] ??= []).push(attribute.text.trim());
  }
  return { user, attributes };
}
