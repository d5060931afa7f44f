import t from 'tap';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, envVariables, parseConfig } from '../../src/platform/config/index.js';

const EXAMPLE = readFileSync(path.join(import.meta.dirname, '../../config.example.yaml'), 'utf8');
const options = { source: 'test.yaml', baseDir: '/srv/hearth' };

function problemsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, { ...options, env });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  return [];
}

t.test('an empty file gives every default, with paths made absolute', async (t) => {
  const config = parseConfig('', options);
  t.equal(config.server_name, 'localhost:8008');
  t.equal(config.listen.port, 8008);
  t.equal(config.listen.host, '127.0.0.1');
  t.equal(config.database.url, null, 'the embedded database by default');
  t.equal(config.redis.url, null, 'the in-process bus by default');
  t.equal(config.data_dir, '/srv/hearth/data');
  t.equal(config.signing_key_path, '/srv/hearth/data/signing.key');
  t.equal(config.public_baseurl, 'http://localhost:8008/');
  t.equal(config.key_valid_for_ms, 86_400_000);
  t.equal(config.enable_registration, false, 'open registration is off, as in Synapse');
  t.equal(config.registration_shared_secret, null, 'shared-secret registration is off');
});

t.test('the registration keys can be set in the file and by environment variables', async (t) => {
  const config = parseConfig('enable_registration: true\nregistration_shared_secret: s3cret\n', options);
  t.equal(config.enable_registration, true);
  t.equal(config.registration_shared_secret, 's3cret');
  const fromEnv = parseConfig('', { ...options, env: { HEARTH_ENABLE_REGISTRATION: 'true', HEARTH_REGISTRATION_SHARED_SECRET: 'x' } });
  t.equal(fromEnv.enable_registration, true);
  t.equal(fromEnv.registration_shared_secret, 'x');
  t.match(problemsOf('enable_registration: yes please\n'), [/^enable_registration: expected a boolean/]);
  t.match(problemsOf('registration_shared_secret: ""\n'), [/^registration_shared_secret:/]);
});

t.test('config.example.yaml documents exactly the defaults', async (t) => {
  t.same(parseConfig(EXAMPLE, options), parseConfig('', options), 'the example sets every key to its default');
  const example = parseYaml(EXAMPLE) as Record<string, unknown>;
  for (const [variable, keyPath] of envVariables()) {
    let node: unknown = example;
    for (const key of keyPath) node = (node as Record<string, unknown> | undefined)?.[key];
    t.not(node, undefined, `${keyPath.join('.')} (${variable}) appears in config.example.yaml`);
  }
});

t.test('environment variables override keys and are typed by the schema', async (t) => {
  const config = parseConfig('database:\n  url: postgres://file@db/hearth\n', {
    ...options,
    env: {
      HEARTH_DATABASE_URL: 'postgres://env@db/hearth',
      HEARTH_LISTEN_PORT: '9000',
      HEARTH_HTTP_TRUST_PROXY: 'true',
      HEARTH_SERVER_NAME: 'example.org',
      HEARTH_CONFIG: '/ignored/because/it/names/the/file.yaml',
      PATH: '/usr/bin',
    },
  });
  t.equal(config.database.url, 'postgres://env@db/hearth');
  t.equal(config.listen.port, 9000);
  t.equal(config.http.trust_proxy, true);
  t.equal(config.server_name, 'example.org');
  t.equal(config.public_baseurl, 'http://localhost:9000/');
});

t.test('a wrong value names the key and what was expected', async (t) => {
  t.match(problemsOf('listen:\n  port: 70000\n'), [/^listen\.port: expected an integer >= 0, <= 65535, got 70000$/]);
  t.match(problemsOf('listen:\n  port: eighty\n'), [/^listen\.port: expected an integer/]);
  t.match(problemsOf('database:\n  url: 5\n'), [/^database\.url: expected a string .*or null, got 5$/]);
  t.match(problemsOf('log:\n  level: loud\n'), [/^log\.level: expected "fatal" or "error"/]);
  t.match(problemsOf('server_name: "bad name!"\n'), [/^server_name: 'bad name!' is not a valid server name/]);
  t.match(problemsOf('database:\n  url: mysql://x\n'), [/^database\.url: expected a postgres:\/\//]);
  t.match(problemsOf('public_baseurl: ftp://x\n'), [/^public_baseurl: expected an http/]);
});

t.test('an unknown key is refused, with a suggestion when it is a typo', async (t) => {
  t.match(problemsOf('databse:\n  url: null\n'), [/^databse: unknown key \(did you mean 'database'\?\)$/]);
  t.match(problemsOf('database:\n  pool: 3\n'), [/^database\.pool: unknown key/]);
  t.match(problemsOf('', { HEARTH_DATABSE_URL: 'postgres://x' }), [/^HEARTH_DATABSE_URL: no configuration key/]);
});

t.test('several problems are reported together', async (t) => {
  const problems = problemsOf('listen:\n  port: -1\nlog:\n  level: 3\n');
  t.equal(problems.length, 2);
});

t.test('text that is not YAML, or not a mapping, is refused with where', async (t) => {
  t.match(problemsOf('server_name: [unclosed\n'), [/^not valid YAML at line/]);
  t.match(problemsOf('- a\n- b\n'), [/must hold a mapping/]);
});

t.test('the error message names the file', async (t) => {
  t.throws(() => parseConfig('listen:\n  port: -1\n', options), { message: /^Configuration error in test\.yaml:\n {2}- listen\.port/ });
});

t.test('nested objects and keyed maps explain what is wrong inside them', async (t) => {
  t.match(problemsOf('listen:\n  tls: { cert_file: a.pem }\n'), [/^listen\.tls\.key_file: is required$/]);
  t.match(problemsOf('old_signing_keys:\n  foo: { key: abc, expired_ts: 1 }\n'), [/^old_signing_keys\.foo: this key is not allowed here; keys must match/]);
  t.match(problemsOf('well_known:\n  client_extra: { bad: 1 }\n'), [/^well_known\.client_extra\.bad: this key is not allowed/]);
});

t.test('default_room_version takes a supported room version, 12 unless set', async (t) => {
  t.equal(parseConfig('', options).default_room_version, '12');
  t.equal(parseConfig('default_room_version: "10"\n', options).default_room_version, '10');
  t.equal(String(parseConfig('', { ...options, env: { HEARTH_DEFAULT_ROOM_VERSION: '11' } }).default_room_version), '11');
  t.equal(String(parseConfig('default_room_version: 9\n', options).default_room_version), '9', 'unquoted in YAML');
  const problems = problemsOf('default_room_version: "13"\n');
  t.equal(problems.length, 1);
  t.match(problems[0], /^default_room_version:/, 'an unsupported version names the key');
});
