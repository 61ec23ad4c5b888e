import { join, relative, resolve } from 'node:path';
import { LocalBackend, S3Backend, type TerraformStack } from 'cdktf';
import { migrationNameOf } from '../config/load.js';
import type { MigrationConfig } from '../config/schema.js';

/**
 * Each stack's Terraform state, keyed by the migration's name so that several
 * migrations share one repo and bucket. S3 uses Terraform's native lock file
 * (no DynamoDB table). A local path is written relative to the stack's working
 * directory, so the synthesized JSON is the same on every machine.
 */
export function stateBackend(stack: TerraformStack, config: MigrationConfig, stackId: string, outdir: string): void {
  const name = migrationNameOf(config);
  if (config.state.backend === 's3') {
    const backend = new S3Backend(stack, {
      bucket: config.state.bucket,
      key: `${config.state.keyPrefix}/${name}/${stackId}.tfstate`,
      region: config.state.region ?? config.region,
      encrypt: true,
    });
    backend.addOverride('use_lockfile', true);
    return;
  }
  const stackDir = resolve(outdir, 'stacks', stackId);
  new LocalBackend(stack, { path: relative(stackDir, join(resolve(config.state.dir), name, `${stackId}.tfstate`)) });
}
