import { loadConfig } from './config/load.js';
import { buildApp } from './stacks/app.js';

// cdktf runs this file; the config path comes from RDS_LIVE_MIGRATE_CONFIG or ./migration.config.json.
buildApp(loadConfig()).synth();
