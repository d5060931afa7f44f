import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CONFIG_PATH_ENV, ConfigError, loadConfigFile, type ResolvedConfig } from './platform/config/index.js';
import { generateConfigFile } from './platform/config/generate.js';
import { packageVersion } from './platform/package-root.js';
import { systemClock, systemRandom } from './platform/clock.js';
import { createLogger } from './platform/logger.js';
import { generateSigningKey, writeSigningKeyFile } from './platform/signing-key-file.js';
import { encodeBase64 } from './crypto/index.js';
import { openStorage, startServer } from './server.js';

const HELP = `Hearth, a Matrix homeserver.

Usage: hearth <command> [options]

Commands:
  start                  Run the homeserver. Creates the configuration file, the data folder and the
                         signing key on first start when the configuration file does not exist yet.
  generate-config        Write a new, documented configuration file.
                           --server-name NAME   the server name to put in it (default localhost:8008)
                           --force              replace an existing file
  generate-signing-key   Write a new ed25519 signing key (Synapse's file format).
                           --output PATH        where to write it (default ./signing.key)
  migrate                Bring the database schema up to date and exit.
                           --status             only print the schema version

Options:
  -c, --config PATH      the configuration file (default: $${CONFIG_PATH_ENV} or ./hearth.yaml)
  -h, --help             show this help
  -v, --version          print Hearth's version

Every configuration key can be set by an environment variable, e.g. HEARTH_DATABASE_URL.
`.replace('$$', '$');

async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      'server-name': { type: 'string' },
      output: { type: 'string', short: 'o' },
      force: { type: 'boolean' },
      status: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  const command = positionals[0];
  if (values.version) {
    process.stdout.write(`hearth ${packageVersion()}\n`);
    return 0;
  }
  if (values.help || command === undefined || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined && !values.help ? 1 : 0;
  }
  const configPath = path.resolve(values.config ?? process.env[CONFIG_PATH_ENV] ?? 'hearth.yaml');

  switch (command) {
    case 'generate-config': {
      await generateConfigFile(configPath, { serverName: values['server-name'], overwrite: values.force ?? false });
      process.stdout.write(`Wrote ${configPath}\n`);
      return 0;
    }
    case 'generate-signing-key': {
      const output = path.resolve(values.output ?? 'signing.key');
      const key = generateSigningKey(systemRandom);
      await writeSigningKeyFile(output, key, { overwrite: values.force ?? false });
      process.stdout.write(`Wrote ${output} (${key.keyId}, public key ${encodeBase64(key.publicKey)})\n`);
      return 0;
    }
    case 'migrate': {
      const config = await loadConfigFile(configPath);
      const log = createLogger({ level: config.log.level });
      const storage = await openStorage(config, log, { migrate: !values.status });
      try {
        const status = await storage.status();
        process.stdout.write(`Database schema at version ${status.current} of ${status.latest}\n`);
      } finally {
        await storage.close();
      }
      return 0;
    }
    case 'start': {
      if (!existsSync(configPath)) {
        await generateConfigFile(configPath, {});
        process.stdout.write(`First start: wrote the configuration file ${configPath}\n`);
      }
      const config = await loadConfigFile(configPath);
      await runUntilSignalled(config);
      return 0;
    }
    default:
      process.stderr.write(`Unknown command '${command}'.\n\n${HELP}`);
      return 1;
  }
}

async function runUntilSignalled(config: ResolvedConfig): Promise<void> {
  const log = createLogger({ level: config.log.level });
  const server = await startServer(config, { log, clock: systemClock, random: systemRandom, version: packageVersion() });
  for (const line of server.firstStartNotes) process.stdout.write(`${line}\n`);
  process.stdout.write(`Hearth ${packageVersion()} serving ${config.server_name} at ${server.url}\n`);
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping');
      server.close().then(resolve, (err: unknown) => {
        log.error({ err }, 'error while stopping');
        resolve();
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else process.stderr.write(`hearth: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);

