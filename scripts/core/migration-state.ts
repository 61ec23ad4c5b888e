import { createHash } from 'node:crypto';
import { migrationNameOf } from '../../config/load.js';
import type { MigrationConfig } from '../../config/schema.js';
import { OperatorError } from '../support/errors.js';
import { emptyJournal, type JournalState } from './journal-format.js';
import { assertJournalOf } from './journal.js';
import { LocalJournalStore, S3JournalStore, type JournalStore } from './journal-store.js';
import { declaredInfrastructure, migrationState, type MigrationState } from './phases.js';

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

/**
 * What the stacks declare from the journal (the config is in the commit), as a short stable hash: a journal
 * that moved without changing it (a seed resumed for days) keeps it; one whose move changes a stack does not.
 */
export function stateFingerprint(state: MigrationState): string {
  const stable = (value: unknown): unknown =>
    value && typeof value === 'object' && !Array.isArray(value)
      ? Object.fromEntries(
          Object.entries(value)
            .filter(([, v]) => v !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : 1))
            .map(([k, v]) => [k, stable(v)]),
        )
      : Array.isArray(value)
        ? value.map(stable)
        : value;
  // buildApp reads the declared infrastructure and, of the phase, only whether it is finalized.
  const declared = { ...declaredInfrastructure(state), finalized: state.phase === 'finalized' };
  return createHash('sha256')
    .update(JSON.stringify(stable(declared)))
    .digest('hex')
    .slice(0, 16);
}

/** Names the variable a pipeline sets, at deploy, to the state its reviewed diff was synthesized from. */
export const REVIEWED_STATE_ENV = 'RDS_LIVE_MIGRATE_REVIEWED_STATE';

/**
 * A deploy applies what the app declares when it runs; between the reviewed diff and an approval, another command
 * (finalize, a run of another job) may move the journal, and the deploy would then apply a change nobody saw.
 */
export function assertReviewedState(state: MigrationState, reviewed: string | undefined): void {
  if (!reviewed) return;
  const now = stateFingerprint(state);
  if (now === reviewed) return;
  throw new OperatorError(
    `the migration moved since its infrastructure diff was reviewed: the diff was of migration state ${reviewed}, the journal now gives ${now} (phase ${state.phase}); what this deploy would apply is not what was approved`,
    'run the workflow again, so that its diff shows the change as it is now, and approve that',
    'review',
  );
}
