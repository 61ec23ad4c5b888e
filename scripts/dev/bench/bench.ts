import { mkdirSync, rmSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { rootConnection, socketPath, startMariadb, stopMariadb } from '../sandbox/mariadb-server.js';
import { freePort, sandboxDown, sandboxUp, type SandboxState } from '../sandbox/sandbox.js';
import { defaultThreads } from '../../seed/parallel-seed.js';
import { OperatorError } from '../../support/errors.js';
import type { Log } from '../../support/log.js';
import { BENCH_DATABASE, BENCH_TABLES, createBenchData } from './bench-data.js';

export interface BenchOptions {
  dir: string;
  /** Rows per table for each size to measure; 500000 is the runbook's ~0.5 GB. */
  sizes: number[];
  threads?: number;
  log: Log;
}

interface MethodResult {
  ms: number;
  equal: boolean;
}

export interface BenchSize {
  rowsPerTable: number;
  rows: number;
  dataMb: number;
  threads: number;
  ms: Record<'original' | 'pipe' | 'mydumper' | 'floor' | 'ours' | 'physical', number>;
  oursPeakRssMb: number;
  oursRowsPerSec: number;
  speedupVsOriginal: number;
  speedupVsPipe: number;
  speedupVsMyloader: number;
  ratioToFloor: number;
  msPerGb: Record<string, number>;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/**
 * Times seeding one database from a server to an empty one, in one run on the
 * same data, for: the original write-up's pipeline, a direct pipe, mydumper/
 * myloader with the same threads, a server-side floor that RDS does not allow,
 * and ours. Every copy is checked by CHECKSUM TABLE before its time counts.
 */
export async function runBench(options: BenchOptions): Promise<{ ok: boolean; sizes: BenchSize[] }> {
  const { log } = options;
  for (const tool of ['mariadb-dump', 'mydumper', 'myloader', 'gzip', 'mariadb-backup']) {
    if ((await execa('sh', ['-c', `command -v ${tool}`], { reject: false })).exitCode !== 0) {
      throw new OperatorError(`the bench needs ${tool}, which is not installed`, 'run: bash scripts/setup-machine.sh', 'bench');
    }
  }
  await sandboxDown(options.dir);
  const state = await sandboxUp(options.dir, (m) => log.info(m));
  const sizes: BenchSize[] = [];
  try {
    for (const rowsPerTable of options.sizes) sizes.push(await benchOneSize(state, rowsPerTable, options.threads ?? defaultThreads(), log));
  } finally {
    await sandboxDown(options.dir);
  }
  return { ok: true, sizes };
}

async function benchOneSize(state: SandboxState, rowsPerTable: number, threads: number, log: Log): Promise<BenchSize> {
  const sourceDir = join(state.dir, 'servers', 'source-master');
  const targetDir = join(state.dir, 'servers', 'target-master');
  const work = join(state.dir, 'bench-files');
  const source = await rootConnection(sourceDir);
  const target = await rootConnection(targetDir);
  try {
    log.info(`bench: generating ${BENCH_TABLES.length} tables x ${rowsPerTable} rows`);
    await createBenchData(source, rowsPerTable);
    // Fresh statistics, or information_schema reports the sizes of the empty tables.
    for (const t of BENCH_TABLES) await source.query(`ANALYZE TABLE ${BENCH_DATABASE}.${t}`);
    const [size] = (await source.query(`SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${BENCH_DATABASE}'`)) as unknown as [{ b: string }[]];
    const dataMb = Number(size[0]!.b) / 1e6;
    const expected = await checksums(source);

    const S = socketPath(sourceDir);
    const T = socketPath(targetDir);
    const dumpArgs = `mariadb-dump -S ${S} -uroot --single-transaction --routines --triggers --databases ${BENCH_DATABASE}`;
    const sh = (script: string) => execa('bash', ['-o', 'pipefail', '-c', script]);

    const methods: Record<BenchSize['ms'] extends Record<infer K, number> ? K : never, () => Promise<number | void>> = {
      original: async () => {
        await sh(`${dumpArgs} | gzip > ${work}/dump.sql.gz`);
        await sh(`zcat ${work}/dump.sql.gz | mariadb -S ${T} -uroot`);
      },
      pipe: async () => {
        await sh(`${dumpArgs} | mariadb -S ${T} -uroot`);
      },
      mydumper: async () => {
        await execa('mydumper', ['-S', S, '-u', 'root', '-t', String(threads), '-r', '100000', '-B', BENCH_DATABASE, '-o', `${work}/mydumper`]);
        await execa('myloader', ['-S', T, '-u', 'root', '-t', String(threads), '-d', `${work}/mydumper`, '-o']);
      },
      floor: async () => {
        // Server-side files on both ends: the fastest a logical copy gets here; RDS has no FILE privilege.
        await target.query(`CREATE DATABASE ${BENCH_DATABASE}`);
        await Promise.all(
          BENCH_TABLES.map(async (t) => {
            const [rows] = await source.query(`SHOW CREATE TABLE ${BENCH_DATABASE}.${t}`);
            await target.query(`USE ${BENCH_DATABASE}`);
            await target.query(String((rows as Record<string, string>[])[0]!['Create Table']));
          }),
        );
        const s = await Promise.all(BENCH_TABLES.map(() => rootConnection(sourceDir)));
        const d = await Promise.all(BENCH_TABLES.map(() => rootConnection(targetDir)));
        try {
          await Promise.all(BENCH_TABLES.map((t, i) => s[i]!.query(`SELECT * FROM ${BENCH_DATABASE}.${t} INTO OUTFILE '${work}/${t}.tsv'`)));
          await Promise.all(BENCH_TABLES.map((t, i) => d[i]!.query(`LOAD DATA INFILE '${work}/${t}.tsv' INTO TABLE ${BENCH_DATABASE}.${t}`)));
        } finally {
          await Promise.all([...s, ...d].map((c) => c.end()));
        }
      },
      ours: async () => {
        const here = fileURLToPath(import.meta.url);
        const child = join(dirname(here), `seed-child${extname(here)}`);
        const { stdout } = await execa(process.execPath, [
          ...process.execArgv,
          child,
          String(state.servers['source-master'].port),
          String(state.servers['target-master'].port),
          join(state.dir, 'secrets', 'source-master.json'),
          join(state.dir, 'secrets', 'target-master.json'),
          BENCH_DATABASE,
          String(threads),
          join(work, 'seed-progress.json'),
        ]);
        const report = JSON.parse(stdout.trim().split('\n').pop()!) as { ms: number; peakRssMb: number };
        oursPeakRssMb = report.peakRssMb;
        return report.ms;
      },
      physical: async () => {
        // The sandbox's stand-in for snapshot → encrypted copy → restore: a physical copy of the
        // whole server (mariadb-backup), prepared and started as a server of its own.
        const dir = join(work, 'physical');
        mkdirSync(dir, { recursive: true });
        await execa('mariadb-backup', ['--backup', `--target-dir=${join(dir, 'data')}`, `--socket=${S}`, '--user=root', `--parallel=${threads}`], { stdio: 'ignore' });
        await execa('mariadb-backup', ['--prepare', `--target-dir=${join(dir, 'data')}`], { stdio: 'ignore' });
        const port = await freePort();
        await startMariadb({ name: 'physical', dir, port, serverId: 9 });
        physicalDir = dir;
      },
    };
    let physicalDir: string | undefined;
    let oursPeakRssMb = 0;
    const ms = {} as BenchSize['ms'];
    for (const [name, run] of Object.entries(methods) as [keyof BenchSize['ms'], () => Promise<number | void>][]) {
      await target.query(`DROP DATABASE IF EXISTS ${BENCH_DATABASE}`);
      rmSync(work, { recursive: true, force: true });
      mkdirSync(work, { recursive: true });
      const t0 = process.hrtime.bigint();
      const inner = await run();
      const wall = Number(process.hrtime.bigint() - t0) / 1e6;
      let copy = target;
      if (physicalDir) copy = await rootConnection(physicalDir);
      const result: MethodResult = { ms: typeof inner === 'number' ? inner : wall, equal: sameChecksums(expected, await checksums(copy)) };
      if (physicalDir) {
        await copy.end();
        await stopMariadb(physicalDir);
        physicalDir = undefined;
      }
      if (!result.equal) throw new OperatorError(`bench: the ${name} copy is not equal to the source; its time does not count`, 'this is a bug in that method or in the bench; report it', 'bench');
      ms[name] = Math.round(result.ms);
      log.info(`bench ${rowsPerTable} rows/table: ${name.padEnd(8)} ${(result.ms / 1000).toFixed(1).padStart(6)} s  (copy verified by CHECKSUM TABLE)`);
    }
    rmSync(work, { recursive: true, force: true });
    const rows = rowsPerTable * BENCH_TABLES.length;
    const gb = dataMb / 1000;
    return {
      rowsPerTable,
      rows,
      dataMb: round(dataMb, 1),
      threads,
      ms,
      oursPeakRssMb: round(oursPeakRssMb, 1),
      oursRowsPerSec: Math.round(rows / (ms.ours / 1000)),
      speedupVsOriginal: round(ms.original / ms.ours),
      speedupVsPipe: round(ms.pipe / ms.ours),
      speedupVsMyloader: round(ms.mydumper / ms.ours),
      ratioToFloor: round(ms.ours / ms.floor),
      msPerGb: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round(v / gb)])),
    };
  } finally {
    await Promise.all([source.end(), target.end()]);
  }
}

async function checksums(c: Awaited<ReturnType<typeof rootConnection>>): Promise<string[]> {
  const out: string[] = [];
  for (const t of BENCH_TABLES) {
    const [rows] = await c.query(`CHECKSUM TABLE ${BENCH_DATABASE}.${t} EXTENDED`);
    out.push(String((rows as { Checksum: string | null }[])[0]!.Checksum));
  }
  return out;
}

function sameChecksums(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i] && x !== 'null');
}

export function printBench(log: Log, sizes: BenchSize[]): void {
  const lines = ['', '| rows/table | data MB | original: dump, gzip, zcat, load | dump \\| load pipe | mydumper/myloader | server-side floor | ours | physical copy | ours peak RSS | speedup vs original | speedup vs myloader | ours / floor |', '|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const s of sizes) {
    const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    lines.push(`| ${s.rowsPerTable} | ${s.dataMb} | ${sec(s.ms.original)} | ${sec(s.ms.pipe)} | ${sec(s.ms.mydumper)} | ${sec(s.ms.floor)} | ${sec(s.ms.ours)} | ${sec(s.ms.physical)} | ${s.oursPeakRssMb} MB | ${s.speedupVsOriginal}x | ${s.speedupVsMyloader}x | ${s.ratioToFloor}x |`);
  }
  log.info(lines.join('\n'));
}
