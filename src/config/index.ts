export { defaultConfig, type LoadedConfig, loadConfig, resolveConfigFile, SYSTEM_CONFIG_FILE } from './load.ts';
export { faceDbFile, SYSTEM_DATA_DIR, systemConfigFile } from './locations.ts';
export { CONFIG_VERSION, type ConfigOverrides, configSchema, type FacegateConfig } from './schema.ts';
