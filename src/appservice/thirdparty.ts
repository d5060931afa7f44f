/**
 * Third-party networks (client-server API "Third-party networks", application service API "Third-party
 * networks"): the protocols the application services declare, with the metadata each service gives for
 * them, and lookups of third-party users and locations, asked of every service that could answer and
 * concatenated. A service that fails, times out or answers nonsense is logged and left out: one broken
 * bridge must not hide the others.
 */
import { MatrixError, thirdPartyInstanceId } from '../protocol/index.js';
import type { Logger } from '../platform/logger.js';
import type { AppServiceClient } from './client.js';
import type { AppService, AppServices } from './registration.js';

export interface ThirdPartyDeps {
  readonly services: AppServices;
  readonly client: AppServiceClient;
  readonly clock: { now(): number };
  readonly log: Logger;
  /** How long a service may take to answer; default LOOKUP_TIMEOUT_MS. */
  readonly timeoutMs?: number;
}

type Json = Record<string, unknown>;
/** A protocol's metadata as the services give it (spec names); `instances` carry their `instance_id`. */
export type ProtocolMetadata = Json & { instances: Json[] };
export type ThirdPartyLocation = Json & { alias: string; protocol: string; fields: Json };
export type ThirdPartyUser = Json & { userid: string; protocol: string; fields: Json };
/** A lookup's fields, as the client's query string gave them (a repeated key has several values). */
export type LookupFields = Readonly<Record<string, string | readonly string[]>>;

/** A client waits on the slowest service: one that hangs is left out after this long. */
const LOOKUP_TIMEOUT_MS = 10_000;
/**
 * Metadata changes only when a bridge is reconfigured, and clients ask for it on every room directory
 * view: a service's answer is kept this long (its failures are not kept: the next request asks again).
 */
const METADATA_TTL_MS = 5 * 60_000;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Metadata we can use: an object whose instances are objects (the rest is the service's business). */
function metadataOf(value: unknown): ProtocolMetadata | undefined {
  if (!isObject(value) || !Array.isArray(value.instances) || !value.instances.every(isObject)) return undefined;
  return value as ProtocolMetadata;
}

function isResult(value: unknown, idField: 'alias' | 'userid'): boolean {
  return isObject(value) && typeof value[idField] === 'string' && typeof value.protocol === 'string' && isObject(value.fields);
}

export type ThirdPartyLookups = ReturnType<typeof createThirdPartyLookups>;

export function createThirdPartyLookups(deps: ThirdPartyDeps) {
  const { services, client } = deps;
  const log = deps.log.child({ component: 'appservice-thirdparty' });
  /** Per service and protocol: its metadata, and until when it is used. */
  const metadataCache = new Map<string, { readonly until: number; readonly metadata: Promise<ProtocolMetadata | undefined> }>();

  function declaring(protocol: string): AppService[] {
    return services.all.filter((service) => service.url !== null && service.protocols.includes(protocol));
  }

  /** GET `path` of the service (v1, else its legacy twin); the parsed JSON, or undefined when it failed. */
  async function ask(service: AppService, path: string, query: LookupFields | undefined, what: Json): Promise<unknown> {
    try {
      const response = await client.request(service, {
        method: 'GET',
        path,
        ...(query === undefined ? {} : { query }),
        legacyPath: `/_matrix/app/unstable${path}`,
        timeoutMs: deps.timeoutMs ?? LOOKUP_TIMEOUT_MS,
      });
      if (response.status < 200 || response.status >= 300) {
        // 404 is how a service says it found nothing.
        if (response.status !== 404) log.info({ appservice: service.id, status: response.status, ...what }, 'application service third-party lookup failed');
        return undefined;
      }
      return response.json();
    } catch (err) {
      log.warn({ err, appservice: service.id, ...what }, 'application service could not be asked a third-party lookup');
      return undefined;
    }
  }

  /** The service's metadata for the protocol, each instance given its instance_id; cached a while. */
  async function fetchMetadata(service: AppService, protocol: string): Promise<ProtocolMetadata | undefined> {
    const answer = await ask(service, `/thirdparty/protocol/${encodeURIComponent(protocol)}`, undefined, { protocol });
    if (answer === undefined) return undefined;
    const metadata = metadataOf(answer);
    if (metadata === undefined) {
      log.info({ appservice: service.id, protocol }, 'application service gave protocol metadata without an instances list; ignored');
      return undefined;
    }
    // The spec requires network_id; instances without one (sytest's) get no instance_id rather than a made-up one.
    const instances = metadata.instances.map((instance) =>
      typeof instance.network_id === 'string' ? { ...instance, instance_id: thirdPartyInstanceId(service.id, instance.network_id) } : instance);
    return { ...metadata, instances };
  }

  function metadataOfService(service: AppService, protocol: string): Promise<ProtocolMetadata | undefined> {
    const key = `${service.id}\u0000${protocol}`;
    const now = deps.clock.now();
    const cached = metadataCache.get(key);
    if (cached !== undefined && cached.until > now) return cached.metadata;
    const metadata = fetchMetadata(service, protocol);
    metadataCache.set(key, { until: now + METADATA_TTL_MS, metadata });
    void metadata.then((value) => {
      if (value === undefined && metadataCache.get(key)?.metadata === metadata) metadataCache.delete(key);
    });
    return metadata;
  }

  /**
   * The protocol's metadata across the services declaring it: the first answering service's fields (in
   * registration order), with every service's instances; undefined when none answered.
   */
  async function protocolMetadata(protocol: string): Promise<ProtocolMetadata | undefined> {
    const answers = (await Promise.all(declaring(protocol).map((service) => metadataOfService(service, protocol))))
      .filter((metadata): metadata is ProtocolMetadata => metadata !== undefined);
    const [first, ...rest] = answers;
    if (first === undefined) return undefined;
    return { ...first, instances: [...first.instances, ...rest.flatMap((metadata) => metadata.instances)] };
  }

  /** Asks each service the lookup and concatenates their valid results, in registration order. */
  async function lookup<T>(candidates: readonly AppService[], path: string, query: LookupFields, idField: 'alias' | 'userid', what: Json): Promise<T[]> {
    const answers = await Promise.all(candidates.map(async (service) => {
      const answer = await ask(service, path, query, what);
      if (answer === undefined) return [];
      if (!Array.isArray(answer)) {
        log.info({ appservice: service.id, ...what }, 'application service answered a third-party lookup with something other than a list; ignored');
        return [];
      }
      const valid = answer.filter((entry) => isResult(entry, idField));
      if (valid.length < answer.length) log.info({ appservice: service.id, dropped: answer.length - valid.length, ...what }, 'application service gave malformed third-party lookup results; dropped');
      return valid as T[];
    }));
    return answers.flat();
  }

  function knownProtocol(protocol: string): AppService[] {
    const candidates = declaring(protocol);
    if (candidates.length === 0) throw new MatrixError('M_NOT_FOUND', `No bridge on this server handles the protocol ${JSON.stringify(protocol)}; GET /thirdparty/protocols lists those that do`);
    return candidates;
  }

  /** Services that declare protocols (so speak the third-party API) and whose namespaces cover the id. */
  function bridging(candidates: readonly AppService[]): AppService[] {
    return candidates.filter((service) => service.protocols.length > 0);
  }

  return {
    /** GET /thirdparty/protocols: every declared protocol that some service describes. */
    async protocols(): Promise<Record<string, ProtocolMetadata>> {
      const names = [...new Set(services.all.filter((service) => service.url !== null).flatMap((service) => service.protocols))];
      const described = await Promise.all(names.map(async (name) => [name, await protocolMetadata(name)] as const));
      const result: Record<string, ProtocolMetadata> = {};
      for (const [name, metadata] of described) if (metadata !== undefined) result[name] = metadata;
      return result;
    },

    /** GET /thirdparty/protocol/{protocol}. */
    async protocol(protocol: string): Promise<ProtocolMetadata> {
      knownProtocol(protocol);
      const metadata = await protocolMetadata(protocol);
      if (metadata === undefined) {
        throw new MatrixError('M_NOT_FOUND', `The bridges for the protocol ${JSON.stringify(protocol)} are not answering; try again later`);
      }
      return metadata;
    },

    /** GET /thirdparty/location/{protocol}: portal rooms the services find for these fields. */
    async locations(protocol: string, fields: LookupFields): Promise<ThirdPartyLocation[]> {
      return lookup(knownProtocol(protocol), `/thirdparty/location/${encodeURIComponent(protocol)}`, fields, 'alias', { protocol, kind: 'location' });
    },

    /** GET /thirdparty/user/{protocol}: the Matrix users the services find for these fields. */
    async users(protocol: string, fields: LookupFields): Promise<ThirdPartyUser[]> {
      return lookup(knownProtocol(protocol), `/thirdparty/user/${encodeURIComponent(protocol)}`, fields, 'userid', { protocol, kind: 'user' });
    },

    /** GET /thirdparty/location?alias=: asked of the bridges whose alias namespaces cover the alias. */
    async locationsOfAlias(alias: string): Promise<ThirdPartyLocation[]> {
      return lookup(bridging(services.interestedInAlias(alias)), '/thirdparty/location', { alias }, 'alias', { kind: 'location by alias' });
    },

    /** GET /thirdparty/user?userid=: asked of the bridges whose user namespaces cover the user. */
    async usersOfUserId(userId: string): Promise<ThirdPartyUser[]> {
      return lookup(bridging(services.interestedInUser(userId)), '/thirdparty/user', { userid: userId }, 'userid', { kind: 'user by id' });
    },
  };
}
