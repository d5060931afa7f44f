/**
 * Application service registrations (application service API, "Registration"): what a registration file
 * says, checked, and the namespace questions the rest of the server asks of it. Pure: the file is read
 * by load.ts.
 *
 * A namespace regex is matched from the start of the id, as Synapse does (Python's re.match): `@_irc_.*`
 * covers `@_irc_bob:example.org`, not `@bob_irc_x:example.org`. The ids bridges write end with `.*` or the
 * server name, so anchoring the start is what they mean.
 */
import { createHash } from 'node:crypto';
import { isValidNewLocalpart, makeUserId, type ServerName, type UserId } from '../protocol/index.js';

export interface Namespace {
  readonly exclusive: boolean;
  readonly regex: RegExp;
}

export interface AppService {
  /** Unique among the server's application services; it names the service in its ping URL. */
  readonly id: string;
  /** Where transactions and queries go; null: the service wants no traffic. */
  readonly url: string | null;
  readonly asToken: string;
  readonly hsToken: string;
  /** The service's own user (`sender_localpart` on this server). */
  readonly sender: UserId;
  readonly users: readonly Namespace[];
  readonly aliases: readonly Namespace[];
  readonly rooms: readonly Namespace[];
  /** Whether the users it acts for are rate limited (its sender never is). Default: true, as in Synapse. */
  readonly rateLimited: boolean;
  readonly protocols: readonly string[];
  /** Typing, receipts and presence go into its transactions too (Matrix 1.13). */
  readonly receiveEphemeral: boolean;
}

/** A registration that cannot be used; the message names the key and what was wrong. */
export class RegistrationError extends Error {
  override name = 'RegistrationError';
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function namespaces(value: unknown, key: string): Namespace[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new RegistrationError(`namespaces.${key} must be a list`);
  return value.map((entry: unknown, index) => {
    const where = `namespaces.${key}[${index}]`;
    if (!isObject(entry)) throw new RegistrationError(`${where} must be a mapping with regex and exclusive`);
    if (typeof entry.regex !== 'string' || entry.regex === '') throw new RegistrationError(`${where}.regex must be a non-empty string`);
    if (typeof entry.exclusive !== 'boolean') throw new RegistrationError(`${where}.exclusive must be true or false`);
    let regex: RegExp;
    try {
      regex = new RegExp(`^(?:${entry.regex})`);
    } catch (err) {
      throw new RegistrationError(`${where}.regex is not a regular expression: ${(err as Error).message}`);
    }
    return { exclusive: entry.exclusive, regex };
  });
}

function text(raw: Record<string, unknown>, key: string): string {
  const value = raw[key];
  if (typeof value !== 'string' || value === '') throw new RegistrationError(`${key} must be a non-empty string`);
  return value;
}

/** Checks a parsed registration file and gives the application service it describes. */
export function parseRegistration(raw: unknown, serverName: ServerName): AppService {
  if (!isObject(raw)) throw new RegistrationError('the file must hold a mapping (id, url, as_token, hs_token, sender_localpart, namespaces)');
  const id = text(raw, 'id');
  // Third-party instance ids join the service id and a network id with '|' (src/protocol/endpoints/thirdparty.ts).
  if (id.includes('|')) throw new RegistrationError('id must not contain |');
  if (!('url' in raw)) throw new RegistrationError('url is required (null when the service wants no traffic)');
  let url: string | null = null;
  if (raw.url !== null) {
    if (typeof raw.url !== 'string') throw new RegistrationError('url must be an http(s) URL or null');
    let parsed: URL;
    try {
      parsed = new URL(raw.url);
    } catch {
      throw new RegistrationError(`url ${JSON.stringify(raw.url)} is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RegistrationError('url must be an http or https URL');
    url = raw.url.replace(/\/+$/, '');
  }
  const asToken = text(raw, 'as_token');
  const hsToken = text(raw, 'hs_token');
  if (asToken === hsToken) throw new RegistrationError('as_token and hs_token must differ: each side must not be able to pose as the other');
  const senderLocalpart = text(raw, 'sender_localpart');
  if (!isValidNewLocalpart(senderLocalpart, serverName)) {
    throw new RegistrationError(`sender_localpart ${JSON.stringify(senderLocalpart)} is not a valid user localpart (a-z, 0-9, . _ = - / +)`);
  }
  if (!isObject(raw.namespaces)) throw new RegistrationError('namespaces must be a mapping (users, aliases, rooms)');
  if (raw.rate_limited !== undefined && typeof raw.rate_limited !== 'boolean') throw new RegistrationError('rate_limited must be true or false');
  if (raw.receive_ephemeral !== undefined && typeof raw.receive_ephemeral !== 'boolean') throw new RegistrationError('receive_ephemeral must be true or false');
  const protocols = raw.protocols ?? [];
  if (!Array.isArray(protocols) || protocols.some((protocol) => typeof protocol !== 'string' || protocol === '')) {
    throw new RegistrationError('protocols must be a list of protocol names');
  }
  return {
    id,
    url,
    asToken,
    hsToken,
    sender: makeUserId(senderLocalpart, serverName),
    users: namespaces(raw.namespaces.users, 'users'),
    aliases: namespaces(raw.namespaces.aliases, 'aliases'),
    rooms: namespaces(raw.namespaces.rooms, 'rooms'),
    rateLimited: raw.rate_limited !== false,
    protocols: protocols as string[],
    receiveEphemeral: raw.receive_ephemeral === true,
  };
}

function matches(list: readonly Namespace[], value: string, exclusiveOnly = false): boolean {
  return list.some((namespace) => (!exclusiveOnly || namespace.exclusive) && namespace.regex.test(value));
}

function serverOf(id: string): string {
  return id.slice(id.indexOf(':') + 1);
}

function tokenKey(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}

/**
 * The server's application services and the questions asked of them: whose token a request carries,
 * which service owns a user or alias, which services an event interests.
 */
export class AppServices {
  readonly #byToken = new Map<string, AppService>();
  readonly #byId = new Map<string, AppService>();

  /** Fails when two services share an id or an as_token (the spec: the server MUST enforce both). */
  constructor(
    readonly all: readonly AppService[],
    private readonly serverName: ServerName,
  ) {
    for (const service of all) {
      if (this.#byId.has(service.id)) throw new RegistrationError(`two application services have the id ${JSON.stringify(service.id)}`);
      const key = tokenKey(service.asToken);
      if (this.#byToken.has(key)) throw new RegistrationError(`application services ${this.#byToken.get(key)!.id} and ${service.id} have the same as_token`);
      this.#byId.set(service.id, service);
      this.#byToken.set(key, service);
    }
  }

  get size(): number {
    return this.all.length;
  }

  /** The service whose as_token this is. */
  byToken(token: string): AppService | undefined {
    return this.#byToken.size === 0 ? undefined : this.#byToken.get(tokenKey(token));
  }

  byId(id: string): AppService | undefined {
    return this.#byId.get(id);
  }

  /** Whether the service may act for (and create) this user: its own user or one of its user namespaces on this server. */
  ownsUser(service: AppService, userId: string): boolean {
    return userId === service.sender || (serverOf(userId) === this.serverName && matches(service.users, userId));
  }

  ownsAlias(service: AppService, alias: string): boolean {
    return matches(service.aliases, alias);
  }

  /** The service that claims this user exclusively, other than `except`: nobody else may register it. */
  exclusiveUserOwner(userId: string, except?: AppService): AppService | undefined {
    return this.all.find((service) => service !== except && (userId === service.sender || matches(service.users, userId, true)));
  }

  /** The service that claims this alias exclusively, other than `except`. */
  exclusiveAliasOwner(alias: string, except?: AppService): AppService | undefined {
    return this.all.find((service) => service !== except && matches(service.aliases, alias, true));
  }

  /** The services (with a URL) whose user namespaces cover this local user. */
  interestedInUser(userId: string): AppService[] {
    if (serverOf(userId) !== this.serverName) return [];
    return this.all.filter((service) => service.url !== null && (userId === service.sender || matches(service.users, userId)));
  }

  /** The services (with a URL) that want to be asked about this alias when it is unknown. */
  interestedInAlias(alias: string): AppService[] {
    return this.all.filter((service) => service.url !== null && matches(service.aliases, alias));
  }
}

/** Whether an event interests the service without looking at the room's members or aliases. */
export function interestedWithoutRoom(service: AppService, services: AppServices, event: { readonly sender: string; readonly roomId: string; readonly type: string; readonly stateKey?: string | undefined }): boolean {
  if (services.ownsUser(service, event.sender)) return true;
  if (event.type === 'm.room.member' && event.stateKey !== undefined && services.ownsUser(service, event.stateKey)) return true;
  return matches(service.rooms, event.roomId);
}

/** Whether a room with these local joined members and aliases interests the service. */
export function interestedInRoom(service: AppService, services: AppServices, localMembers: Iterable<string>, aliases: Iterable<string>): boolean {
  for (const member of localMembers) if (services.ownsUser(service, member)) return true;
  for (const alias of aliases) if (matches(service.aliases, alias)) return true;
  return false;
}
