import { loadConfig } from './config/load.js';
import { assertReviewedState, readMigrationState, REVIEWED_STATE_ENV } from './scripts/core/migration-state.js';
import { describeError } from './scripts/support/errors.js';
import { buildApp } from './stacks/app.js';

// cdktf runs this file; the config path comes from RDS_LIVE_MIGRATE_CONFIG or ./migration.config.json.
try {
  const config = loadConfig();
  const state = readMigrationState(config);
  assertReviewedState(state, process.env[REVIEWED_STATE_ENV]);
  buildApp(config, state).synth();
} catch (err) {
  // cdktf shows what this prints; an operator's error reads better than a stack trace.
  const { message, fix } = describeError(err);
  process.stderr.write(`error: ${message}\n${fix ? `what to do: ${fix}\n` : ''}`);
  process.exit(1);
}
