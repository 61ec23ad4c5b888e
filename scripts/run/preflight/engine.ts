import type { Check, Finding } from './check.js';
import type { ServerFacts } from './facts.js';

/** Replication runs from a server to one of the same engine, never to an older version; the config's engine picks the dialect. */
export const enginesMatch: Check = {
  ids: ['engine-mismatch', 'version', 'engine-config'],
  concern: 'engine',
  run: ({ servers, config }) => {
    const source = servers['source-master'];
    const target = servers['target-master'];
    if (!source) return [];
    // The config's engine is judged against the source alone: the target may not be deployed yet.
    const findings = target ? targetEngine(source, target) : [];
    const actual = source.flavor === 'MariaDB' ? 'mariadb' : 'mysql';
    if (config.engine !== actual)
      findings.push({
        id: 'engine-config',
        severity: 'block',
        server: 'config',
        message: `the config says engine ${config.engine}, but the source is ${source.flavor}`,
        fix: `set engine to "${actual}"`,
      });
    return findings;
  },
};

function targetEngine(source: ServerFacts, target: ServerFacts): Finding[] {
  if (source.flavor !== target.flavor)
    return [
      {
        id: 'engine-mismatch',
        severity: 'block',
        server: 'target-master',
        message: `source-master is ${source.flavor} ${source.version}, target-master is ${target.flavor} ${target.version}`,
        fix: 'the target must run the same engine as the source',
      },
    ];
  if (target.major * 1000 + target.minor >= source.major * 1000 + source.minor) return [];
  return [
    {
      id: 'version',
      severity: 'block',
      server: 'target-master',
      message: `target-master runs ${target.version}, older than source-master's ${source.version}; replication from a newer to an older version is not supported`,
      fix: `set target.engineVersion to ${source.major}.${source.minor} or newer and redeploy the target stack`,
    },
  ];
}
