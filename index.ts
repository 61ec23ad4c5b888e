export * from './stacks/index.js';
export { buildApp } from './stacks/app.js';
export { loadConfig, parseConfig, ConfigError } from './config/load.js';
export { migrationConfigSchema, type MigrationConfig, type MigrationConfigInput } from './config/schema.js';
