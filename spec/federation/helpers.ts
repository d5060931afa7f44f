/**
 * Test helpers for federation: a throwaway TLS certificate (openssl), and a remote "homeserver" on
 * loopback HTTPS whose answers each test sets.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { encodeBase64, signJson, signingKeyFromSeed, type SigningKey } from '../../src/crypto/index.js';
import { createFederationClient, createServerResolver, type FederationClient } from '../../src/federation/index.js';
import { createHttpClient, type HttpClient } from '../../src/platform/http-client.js';
import { fixedClock } from '../../src/platform/clock.js';
import { silentLogger } from '../../src/platform/logger.js';

let cached: { cert: string; key: string } | undefined;

/** A self-signed certificate for remote.test, notary.test, localhost and 127.0.0.1, made once per process. */
export function testCertificate(): { cert: string; key: string } {
  if (cached) return cached;
  const dir = mkdtempSync(join(tmpdir(), 'hearth-tls-'));
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=remote.test',
      '-addext', 'subjectAltName=DNS:remote.test,DNS:notary.test,DNS:localhost,IP:127.0.0.1',
    ], { stdio: 'ignore' });
    cached = { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
    return cached;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function testKey(version: string, fill: number): SigningKey {
  return signingKeyFromSeed(version, new Uint8Array(32).fill(fill));
}

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly host: string | undefined;
  readonly authorization: string | undefined;
  readonly body: unknown;
}

export type RemoteHandler = (request: SeenRequest) => { status?: number; json: unknown } | undefined;

/** An HTTPS server on 127.0.0.1 answering with `handler`; 404 M_UNRECOGNIZED when it returns undefined. */
export async function remoteServer(t: Test, handler: RemoteHandler): Promise<{ port: number; seen: SeenRequest[]; server: Server }> {
  const { cert, key } = testCertificate();
  const seen: SeenRequest[] = [];
  const server = createServer({ cert, key }, (req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('end', () => {
      const request = {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        host: req.headers.host,
        authorization: req.headers.authorization,
        body: text === '' ? undefined : JSON.parse(text),
      };
      seen.push(request);
      const answer = handler(request);
      res.setHeader('content-type', 'application/json');
      res.statusCode = answer?.status ?? (answer ? 200 : 404);
      res.end(JSON.stringify(answer ? answer.json : { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, seen, server };
}

/** A key publication as GET /_matrix/key/v2/server gives it, signed by `signer` (the server's key unless a test forges). */
export function keyPublication(
  serverName: string,
  key: SigningKey,
  validUntilTs: number,
  options: { signer?: SigningKey; serverNameInBody?: string; old?: Record<string, { key: string; expired_ts: number }> } = {},
): Record<string, unknown> {
  const body = {
    server_name: options.serverNameInBody ?? serverName,
    verify_keys: { [key.keyId]: { key: encodeBase64(key.publicKey) } },
    old_verify_keys: options.old ?? {},
    valid_until_ts: validUntilTs,
  };
  const signer = options.signer ?? key;
  // A forged signer signs under the real key's id: the signature is there but does not verify.
  const signed = signJson(body, serverName, signer);
  if (signer !== key) {
    const sig = signed.signatures[serverName]![signer.keyId]!;
    return { ...body, signatures: { [serverName]: { [key.keyId]: sig } } };
  }
  return signed;
}

/** A federation client for tests: names ending in .test resolve to 127.0.0.1, the test CA is trusted. */
export function testFederationClient(
  t: Test,
  options: { serverName?: string; key?: SigningKey; allowPrivateAddresses?: boolean; now?: number } = {},
): { client: FederationClient; http: HttpClient } {
  const http = createHttpClient({
    log: silentLogger(),
    userAgent: 'hearth-test',
    timeoutMs: 5_000,
    maxResponseBytes: 1 << 20,
    tls: { extraCaPems: [testCertificate().cert] },
  });
  t.teardown(() => http.close());
  const dns = { lookupHost: async (name: string) => (name.endsWith('.test') || name === 'localhost' ? ['127.0.0.1'] : []) };
  const client = createFederationClient({
    serverName: options.serverName ?? 'local.test',
    signingKey: options.key ?? testKey('local', 1),
    http,
    dns,
    allowPrivateAddresses: options.allowPrivateAddresses ?? true,
    log: silentLogger(),
    resolver: createServerResolver({
      clock: fixedClock(options.now ?? 1_700_000_000_000),
      lookupSrv: async () => [],
      fetchWellKnown: async () => undefined,
    }),
  });
  return { client, http };
}
