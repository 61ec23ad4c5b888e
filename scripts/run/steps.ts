import { RUN_STEPS, type RunStep } from '../core/journal-format.js';

export const STEP_NAMES = RUN_STEPS;
export type StepName = RunStep;

export const STEP_TITLES: Record<StepName, string> = {
  'binlog-retention': 'keep binlogs on source-master long enough for the seed and catch-up',
  'replication-user': 'create the replication user on source-master (random password, never shown)',
  'seed-method': 'choose how the target is seeded: logical copy, or snapshot of the frozen replica restored encrypted',
  'freeze-replica': 'stop source-slave and record its executed position',
  'seed-target':
    'seed target-master from the frozen source-slave (logical: copy schema, data and objects; snapshot: deploy the target restored from it)',
  'copy-users':
    'recreate the application users and grants on target-master, as of the frozen position (after a restore: any that are missing)',
  'point-target': 'point target-master at source-master from the executed position and start replication',
  'catch-up': 'wait until target-master has caught up with source-master',
  'teardown-replica': 'let go of the replica, which the deploy after catch-up removes',
};
