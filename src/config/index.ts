export { defaultConfig, type LoadedConfig, loadConfig, resolveConfigFile, SYSTEM_CONFIG_FILE } from './load.ts';
export { CONFIG_VERSION, type ConfigOverrides, configSchema, type FacegateConfig } from './schema.ts';
