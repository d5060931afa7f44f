/**
 * An HTTP connection pool for requests to hosts a user named (URL previews, identity servers): the
 * addresses a host name resolves to are filtered inside the connection's own DNS lookup, so the address
 * checked is the address connected to (a name that resolves to a public address for a check and a private
 * one for the connection gains nothing). IP literals skip the lookup: `checkHost` refuses those before a
 * request. Private, loopback and link-local ranges are refused unless the policy allows them.
 */
import { lookup as systemLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Agent } from 'undici';
import { isPrivateAddress } from './addresses.js';
import { tlsTrust, type HttpClientOptions } from './http-client.js';

export interface AddressPolicy {
  /** Let private, loopback and link-local addresses be reached (test networks, sytest). */
  readonly allowPrivateAddresses: boolean;
  /** CIDR ranges always allowed, private or not (an intranet the operator wants reached). */
  readonly allowedRanges?: readonly string[];
  /** CIDR ranges refused besides the private ones. */
  readonly deniedRanges?: readonly string[];
}

export interface GuardedAgentOptions extends AddressPolicy {
  /** Connect timeout. */
  readonly timeoutMs: number;
  /** Trust for https, as HttpClientOptions.tls. */
  readonly tls?: HttpClientOptions['tls'];
  /** Resolves a host name to all its addresses; default: the system resolver. */
  readonly lookupAll?: (hostname: string) => Promise<LookupAddress[]>;
  /** Names the policy's settings in errors (e.g. "url_previews"). */
  readonly configName: string;
}

/** A host, or every address of a host name, that the policy refuses. */
export class BlockedAddressError extends Error implements NodeJS.ErrnoException {
  readonly code = 'EHEARTHBLOCKED';

  constructor(message: string) {
    super(message);
    this.name = 'BlockedAddressError';
  }
}

export interface GuardedAgent {
  readonly agent: Agent;
  /** Throws BlockedAddressError for an IP-literal host the policy refuses (names are checked at connect). */
  checkHost(hostname: string): void;
  close(): Promise<void>;
}

/** A BlockList of CIDR ranges ("10.1.0.0/16", "fd00::/8"); a bad range stops the start naming it. */
export function rangeList(ranges: readonly string[], name: string): BlockList {
  const list = new BlockList();
  for (const range of ranges) {
    const [network = '', prefixText] = range.split('/');
    const family = isIP(network);
    const prefix = prefixText === undefined ? (family === 6 ? 128 : 32) : Number(prefixText);
    if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 6 ? 128 : 32)) {
      throw new Error(`${name}: '${range}' is not an IP range (write 10.0.0.0/8 or fd00::/8)`);
    }
    list.addSubnet(network, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** Whether an error (or its cause, as undici wraps it) is the policy's refusal. */
export function isBlockedAddress(err: unknown): boolean {
  return err instanceof BlockedAddressError || (err instanceof Error && err.cause instanceof BlockedAddressError);
}

export function createGuardedAgent(options: GuardedAgentOptions): GuardedAgent {
  const allowed = rangeList(options.allowedRanges ?? [], `${options.configName}.allowed_ip_ranges`);
  const denied = rangeList(options.deniedRanges ?? [], `${options.configName}.denied_ip_ranges`);
  const lookupAll = options.lookupAll ?? ((hostname: string) => new Promise<LookupAddress[]>((resolve, reject) =>
    systemLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)))));

  function reachable(address: string): boolean {
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (allowed.check(address, family)) return true;
    if (denied.check(address, family)) return false;
    return options.allowPrivateAddresses || !isPrivateAddress(address);
  }

  const agent = new Agent({
    connect: {
      timeout: options.timeoutMs,
      ...tlsTrust(options.tls),
      // Node's socket calls this for a host name (never for an IP literal: checkHost is for those). With
      // `all` it wants every address (it races them, "happy eyeballs"), else the first.
      lookup: ((hostname, lookupOptions, callback) => {
        lookupAll(hostname).then(
          (addresses) => {
            const usable = addresses.filter((entry) => reachable(entry.address));
            if (usable.length === 0) {
              callback(new BlockedAddressError(`${hostname} has no address this server may reach`), '');
            } else if (lookupOptions.all === true) {
              callback(null, usable);
            } else {
              callback(null, usable[0]!.address, usable[0]!.family);
            }
          },
          (err: NodeJS.ErrnoException) => callback(err, ''),
        );
      }) satisfies LookupFunction,
    },
    keepAliveTimeout: 10_000,
  });

  return {
    agent,
    checkHost(hostname: string): void {
      const host = hostname.replace(/^\[|\]$/g, '');
      if (isIP(host) !== 0 && !reachable(host)) throw new BlockedAddressError(`${host} is an address this server may not reach`);
    },
    close: () => agent.close(),
  };
}
