import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Value, type ValueError } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { isServerName } from '../../protocol/index.js';
import { ConfigSchema, type Config } from './schema.js';

/** Start-up stops with this; its message names every wrong key and what was expected. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[], readonly source: string) {
    super(`Configuration error in ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The configuration with every derived default filled in and every path absolute. */
export interface ResolvedConfig extends Config {
  readonly public_baseurl: string;
  readonly signing_key_path: string;
  readonly config_path: string | null;
  readonly media: Config['media'] & { readonly store_path: string };
}

export const ENV_PREFIX = 'HEARTH_';
/** Not a configuration key: it says where the configuration file is. */
export const CONFIG_PATH_ENV = 'HEARTH_CONFIG';

export async function loadConfigFile(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ResolvedConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}`], file);
  }
  return parseConfig(text, { source: file, baseDir: path.dirname(path.resolve(file)), env });
}

export interface ParseOptions {
  readonly source: string;
  /** Relative paths in the file are relative to the file's own folder. */
  readonly baseDir: string;
  readonly env?: NodeJS.ProcessEnv;
}

export function parseConfig(text: string, options: ParseOptions): ResolvedConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}` : '';
    throw new ConfigError([`not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`], options.source);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(['the file must hold a mapping of keys to values'], options.source);
  }
  const problems: string[] = [];
  const withEnv = applyEnvOverrides(raw as Record<string, unknown>, options.env ?? {}, problems);
  const value = Value.Default(ConfigSchema, Value.Clone(withEnv));
  for (const error of Value.Errors(ConfigSchema, value)) problems.push(...describe(error));
  if (problems.length === 0) problems.push(...semanticProblems(value as Config));
  if (problems.length > 0) throw new ConfigError(dedupe(problems), options.source);
  return resolve(value as Config, options);
}

function semanticProblems(config: Config): string[] {
  const problems: string[] = [];
  if (!isServerName(config.server_name)) {
    problems.push(`server_name: '${config.server_name}' is not a valid server name (a DNS name or IP literal, with an optional port)`);
  }
  for (const [key, url] of [['public_baseurl', config.public_baseurl], ['well_known.client_base_url', config.well_known.client_base_url]] as const) {
    if (url !== null && !isHttpUrl(url)) problems.push(`${key}: expected an http:// or https:// URL, got '${url}'`);
  }
  if (config.database.url !== null && !/^postgres(ql)?:\/\//.test(config.database.url)) {
    problems.push(`database.url: expected a postgres:// or postgresql:// URL, or null for the embedded database`);
  }
  if (config.redis.url !== null && !/^rediss?:\/\//.test(config.redis.url)) {
    problems.push(`redis.url: expected a redis:// or rediss:// URL, or null for the in-process bus`);
  }
  if (config.well_known.server !== null && !isServerName(config.well_known.server)) {
    problems.push(`well_known.server: '${config.well_known.server}' is not a valid server name with optional port`);
  }
  problems.push(...ssoProblems(config.sso));
  if (config.registration_requires_email && config.email.smtp_host === null) {
    problems.push('registration_requires_email: needs email.smtp_host, to mail the validation links');
  }
  config.well_known.support.contacts.forEach((contact, i) => {
    if (contact.matrix_id === undefined && contact.email_address === undefined) {
      problems.push(`well_known.support.contacts[${i}]: needs a matrix_id or an email_address`);
    }
  });
  if (config.well_known.support.support_page !== null && !isHttpUrl(config.well_known.support.support_page)) {
    problems.push(`well_known.support.support_page: expected an http:// or https:// URL, got '${config.well_known.support.support_page}'`);
  }
  if (config.recaptcha.require_for_registration && (config.recaptcha.public_key === null || config.recaptcha.private_key === null)) {
    problems.push('recaptcha.require_for_registration: needs recaptcha.public_key and recaptcha.private_key');
  }
  return problems;
}

function ssoProblems(sso: Config['sso']): string[] {
  const problems: string[] = [];
  if (sso.cas.server_url !== null && !isHttpUrl(sso.cas.server_url)) problems.push(`sso.cas.server_url: expected an http:// or https:// URL, got '${sso.cas.server_url}'`);
  const ids = new Set(sso.cas.server_url === null ? [] : [sso.cas.idp_id]);
  sso.oidc_providers.forEach((provider, i) => {
    const at = `sso.oidc_providers[${i}]`;
    if (ids.has(provider.idp_id)) problems.push(`${at}.idp_id: '${provider.idp_id}' is another provider's id already`);
    ids.add(provider.idp_id);
    for (const key of ['issuer', 'authorization_endpoint', 'token_endpoint', 'userinfo_endpoint'] as const) {
      const url = provider[key];
      if (url !== undefined && !isHttpUrl(url)) problems.push(`${at}.${key}: expected an http:// or https:// URL, got '${url}'`);
    }
    if (provider.discover === false && (provider.authorization_endpoint === undefined || provider.token_endpoint === undefined)) {
      problems.push(`${at}: with discover: false, authorization_endpoint and token_endpoint are required`);
    }
    const method = provider.client_auth_method ?? (provider.client_secret === undefined ? 'none' : 'client_secret_basic');
    if (method !== 'none' && provider.client_secret === undefined) problems.push(`${at}.client_secret: required with client_auth_method ${method}`);
    if (!(provider.scopes ?? ['openid']).includes('openid')) problems.push(`${at}.scopes: must include openid`);
  });
  return problems;
}

function resolve(config: Config, options: ParseOptions): ResolvedConfig {
  const abs = (p: string) => path.resolve(options.baseDir, p);
  const dataDir = abs(config.data_dir);
  const scheme = config.listen.tls ? 'https' : 'http';
  const publicBaseurl = withTrailingSlash(config.public_baseurl ?? `${scheme}://localhost:${config.listen.port}/`);
  return {
    ...config,
    data_dir: dataDir,
    public_baseurl: publicBaseurl,
    signing_key_path: config.signing_key_path === null ? path.join(dataDir, 'signing.key') : abs(config.signing_key_path),
    app_service_config_files: config.app_service_config_files.map(abs),
    media: { ...config.media, store_path: config.media.store_path === null ? path.join(dataDir, 'media') : abs(config.media.store_path) },
    listen: {
      ...config.listen,
      tls: config.listen.tls && { cert_file: abs(config.listen.tls.cert_file), key_file: abs(config.listen.tls.key_file) },
    },
    config_path: options.source === '<defaults>' ? null : path.resolve(options.source),
  };
}

/** Every leaf key has an environment variable: database.url is HEARTH_DATABASE_URL. */
export function envVariables(): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  const walk = (schema: TSchema, prefix: readonly string[]) => {
    const properties = (schema as { properties?: Record<string, TSchema> }).properties;
    if (!properties || prefix.length > 0 && schema.type !== 'object') return;
    for (const [key, child] of Object.entries(properties)) {
      const keyPath = [...prefix, key];
      if (child.type === 'object' && (child as { properties?: unknown }).properties) walk(child, keyPath);
      else out.set(ENV_PREFIX + keyPath.join('_').toUpperCase(), keyPath);
    }
  };
  walk(ConfigSchema, []);
  return out;
}

function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv, problems: string[]): Record<string, unknown> {
  const variables = envVariables();
  const out = structuredClone(raw);
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || name === CONFIG_PATH_ENV || text === undefined) continue;
    const keyPath = variables.get(name);
    if (!keyPath) {
      problems.push(`${name}: no configuration key has this environment variable (known: ${[...variables.keys()].join(', ')})`);
      continue;
    }
    let node = out;
    for (const key of keyPath.slice(0, -1)) {
      const next = node[key];
      node = typeof next === 'object' && next !== null && !Array.isArray(next) ? (next as Record<string, unknown>) : (node[key] = {});
    }
    node[keyPath.at(-1)!] = parseEnvValue(text);
  }
  return out;
}

/** Environment values are text; numbers, booleans, null and JSON objects are read as such. */
function parseEnvValue(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === '' || trimmed === 'null') return null;
  if (trimmed === 'true' || trimmed === 'false') return trimmed === 'true';
  if (/^-?\d+$/.test(trimmed)) return Number(trimmed);
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return JSON.parse(trimmed) as unknown;
    } catch {
      return text;
    }
  }
  return text;
}

function describe(error: ValueError): string[] {
  const key = error.path === '' ? '(top level)' : error.path.slice(1).replaceAll('/', '.');
  const got = error.value === undefined ? 'nothing' : JSON.stringify(error.value);
  if (error.message === 'Expected required property') return [`${key}: is required`];
  // TypeBox follows a missing key's "required" error with a type error for the same key: one is enough.
  if (error.value === undefined) return [];
  if (error.message.startsWith('Unexpected property')) {
    const parentPath = key.split('.').slice(0, -1);
    const name = key.split('.').at(-1) ?? key;
    const parent = schemaAt(parentPath);
    const patterns = Object.keys((parent as { patternProperties?: object } | undefined)?.patternProperties ?? {});
    if (patterns.length > 0) return [`${key}: this key is not allowed here; keys must match /${patterns.join('/ or /')}/`];
    const suggestion = closestKey(parent, name);
    return [`${key}: unknown key${suggestion ? ` (did you mean '${[...parentPath, suggestion].join('.')}'?)` : ''}`];
  }
  // A value that picked the object side of "object or null" is better explained by the object's own errors.
  const members = (error.schema as { anyOf?: TSchema[] }).anyOf;
  if (members && typeof error.value === 'object' && error.value !== null) {
    const objectSchema = members.find((member) => member.type === 'object');
    if (objectSchema) {
      const inner = [...Value.Errors(objectSchema, error.value)];
      if (inner.length > 0) return inner.flatMap((e) => describe({ ...e, path: error.path + e.path }));
    }
  }
  return [`${key}: expected ${expectation(error.schema)}, got ${got}`];
}

function schemaAt(keyPath: readonly string[]): TSchema | undefined {
  let schema: TSchema | undefined = ConfigSchema;
  for (const key of keyPath) schema = (schema as { properties?: Record<string, TSchema> } | undefined)?.properties?.[key];
  return schema;
}

function expectation(schema: TSchema): string {
  const s = schema as TSchema & Record<string, unknown>;
  if (Array.isArray(s.anyOf)) return (s.anyOf as TSchema[]).map(expectation).join(' or ');
  if (s.const !== undefined) return JSON.stringify(s.const);
  const bounds = [
    typeof s.minimum === 'number' ? `>= ${s.minimum}` : '',
    typeof s.maximum === 'number' ? `<= ${s.maximum}` : '',
    typeof s.minLength === 'number' && s.minLength > 0 ? 'not empty' : '',
    typeof s.pattern === 'string' ? `matching /${s.pattern}/` : '',
  ].filter(Boolean);
  const article = s.type === 'integer' || s.type === 'object' || s.type === 'array' ? 'an' : 'a';
  const name = s.type === 'null' ? 'null' : `${article} ${String(s.type ?? 'value')}`;
  return bounds.length > 0 ? `${name} ${bounds.join(', ')}` : name;
}

function closestKey(parent: TSchema | undefined, name: string): string | undefined {
  const keys = Object.keys((parent as { properties?: Record<string, TSchema> } | undefined)?.properties ?? {});
  let best: { key: string; distance: number } | undefined;
  for (const key of keys) {
    const distance = editDistance(key, name);
    if (distance <= 2 && (!best || distance < best.distance)) best = { key, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function withTrailingSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`;
}

function dedupe(items: readonly string[]): string[] {
  return [...new Set(items)];
}
