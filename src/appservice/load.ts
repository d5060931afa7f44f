import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import type { ServerName } from '../protocol/index.js';
import { AppServices, parseRegistration, RegistrationError, type AppService } from './registration.js';

/**
 * Reads the registration files named by app_service_config_files. A file that cannot be read or used
 * stops the start, its message naming the file and the key: a bridge half-configured would lose messages.
 */
export async function loadAppServices(files: readonly string[], serverName: ServerName): Promise<AppServices> {
  const services: AppService[] = [];
  for (const file of files) {
    let raw: unknown;
    try {
      raw = parseYaml(await readFile(file, 'utf8'));
    } catch (err) {
      throw new RegistrationError(`application service registration ${file}: cannot be read: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
    try {
      services.push(parseRegistration(raw, serverName));
    } catch (err) {
      throw new RegistrationError(`application service registration ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
  try {
    return new AppServices(services, serverName);
  } catch (err) {
    throw new RegistrationError(`app_service_config_files: ${(err as Error).message}`, { cause: err });
  }
}
