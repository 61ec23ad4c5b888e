import { migrationNameOf } from '../../config/load.js';
import type { MigrationConfig } from '../../config/schema.js';
import { emptyJournal, type JournalState } from './journal-format.js';
import { assertJournalOf } from './journal.js';
import { LocalJournalStore, S3JournalStore, type JournalStore } from './journal-store.js';
import { migrationState, type MigrationState } from './phases.js';

/** The journal's store the config names: beside the Terraform state (S3), or in migration.workDir. */
export function journalStore(config: MigrationConfig): JournalStore {
  if (config.state.backend === 's3') {
    const { bucket, keyPrefix, region } = config.state;
    return new S3JournalStore({ bucket, prefix: `${keyPrefix}/${migrationNameOf(config)}`, region: region ?? config.region });
  }
  return new LocalJournalStore(config.migration.workDir);
}

/** What the stacks need to know of the journal; read fresh at every synth. */
export function readMigrationState(config: MigrationConfig, store: JournalStore = journalStore(config)): MigrationState {
  const journal = store.read()?.state;
  // Synth (and so the CI's deploy) must not declare another migration's phase; a journal without a label predates labels.
  if (journal?.migration) assertJournalOf(store.where, journal, migrationLabel(config));
  return stateFor(config, journal ?? emptyJournal(''));
}

/** The one way from a config and a journal to the state the stacks and the engine both act on. */
export function stateFor(config: MigrationConfig, journal: JournalState): MigrationState {
  return migrationState(
    journal,
    config.migration.seedMethod,
    config.migration.targetLoadMode,
    config.migration.catchUpDurability === 'relaxed',
  );
}

/** "source -> target": a journal belongs to one migration. */
export function migrationLabel(config: MigrationConfig): string {
  return `${config.source.instanceIdentifier} -> ${config.target.instanceIdentifier}`;
}
