export * from './stacks/index.js';
export { buildApp } from './stacks/app.js';
export { loadConfig, parseConfig, ConfigError } from './config/load.js';
export { migrationConfigSchema, type MigrationConfig, type MigrationConfigInput } from './config/schema.js';
export { readMigrationState, journalStore } from './scripts/core/migration-state.js';
export {
  declaredInfrastructure,
  migrationState,
  phaseOf,
  PHASES,
  PHASE_MEANING,
  type Phase,
  type MigrationState,
  type DeclaredInfrastructure,
  type TargetDeclaration,
} from './scripts/core/phases.js';
export type { JournalState, FrozenPosition } from './scripts/core/journal-format.js';
