// Runs only our seed, in a process of its own, so that its peak RSS is ours alone.
// Prints one JSON line: the seed's wall time and the process's peak RSS.
import { rmSync } from 'node:fs';
import { Server } from '../../db/connection.js';
import { parallelSeed } from '../../seed/parallel-seed.js';
import { SeedProgress } from '../../seed/seed-progress.js';
import { createLog } from '../../support/log.js';
import { resolveSecret } from '../../support/secrets.js';

const [sourcePort, targetPort, sourceSecret, targetSecret, database, threads, progressFile, chunkRows, wholeTableMaxBytes] =
  process.argv.slice(2);
const connect = async (port: string, secret: string) => {
  const credentials = await resolveSecret(`file:${secret}`, 'bench');
  return Server.connect({
    role: 'source-master',
    endpoint: { host: '127.0.0.1', port: Number(port) },
    credentials: { username: credentials.username!, password: credentials.password },
  });
};
rmSync(progressFile!, { force: true });
const started = process.hrtime.bigint();
const result = await parallelSeed({
  databases: [database!],
  threads: Number(threads),
  ...(chunkRows ? { chunkRows: Number(chunkRows) } : {}),
  ...(wholeTableMaxBytes ? { wholeTableMaxBytes: Number(wholeTableMaxBytes) } : {}),
  rewriteDefiners: false,
  progress: new SeedProgress(progressFile!, 'bench'),
  log: createLog({ quiet: true }),
  connectSource: () => connect(sourcePort!, sourceSecret!),
  connectTarget: () => connect(targetPort!, targetSecret!),
});
const ms = Number(process.hrtime.bigint() - started) / 1e6;
process.stdout.write(
  `${JSON.stringify({ ms, peakRssMb: process.resourceUsage().maxRSS / 1024, cpuS: (process.resourceUsage().userCPUTime + process.resourceUsage().systemCPUTime) / 1e6, rows: result.rowsCopied, bytes: result.bytesCopied, phasesMs: result.phasesMs })}\n`,
);
