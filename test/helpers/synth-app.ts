import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../config/load.js';
import { buildApp } from '../../stacks/app.js';
import { exampleConfig } from './config.js';

export type Synth = { resource?: Record<string, Record<string, Record<string, unknown>>>; output?: Record<string, unknown> };

/**
 * Synthesizes the whole app, as `cdktf synth` does through main.ts (the example config, with `migration` over it, and
 * `journal` as the steps of the journal in its workDir), and returns the stacks it declares.
 */
export function synthApp(migration: Record<string, unknown>, journal?: Record<string, unknown>): Record<string, Synth> {
  const workDir = mkdtempSync(join(tmpdir(), 'rlm-app-'));
  if (journal) writeFileSync(join(workDir, 'journal.json'), JSON.stringify({ version: 1, steps: journal }));
  const outdir = join(workDir, 'cdktf.out');
  buildApp(parseConfig(exampleConfig({ migration: { workDir, ...migration } })), undefined, outdir).synth();
  const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as {
    stacks: Record<string, { synthesizedStackPath: string }>;
  };
  return Object.fromEntries(
    Object.entries(manifest.stacks).map(([name, s]) => [
      name,
      JSON.parse(readFileSync(join(outdir, s.synthesizedStackPath), 'utf8')) as Synth,
    ]),
  );
}
