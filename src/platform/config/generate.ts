import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { packageRoot } from '../package-root.js';

/**
 * A new configuration file: the documented example with the server name filled in. Writing the
 * example itself keeps every key's explanation in front of the person who edits the file.
 */
export async function generateConfigFile(file: string, options: { serverName?: string; overwrite?: boolean }): Promise<void> {
  let text = await readFile(path.join(packageRoot(), 'config.example.yaml'), 'utf8');
  if (options.serverName !== undefined) {
    text = text.replace(/^server_name: .*$/m, `server_name: ${JSON.stringify(options.serverName)}`);
  }
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  try {
    await writeFile(file, text, { flag: options.overwrite ? 'w' : 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(`${file} already exists; pass --force to replace it`);
    }
    throw err;
  }
}
