export { ConfigSchema, type Config } from './schema.js';
export { ConfigError, loadConfigFile, parseConfig, envVariables, CONFIG_PATH_ENV, type ResolvedConfig } from './load.js';
