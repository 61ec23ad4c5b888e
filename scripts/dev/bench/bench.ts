import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { rootConnection, socketPath, startMariadb, stopMariadb } from '../sandbox/mariadb-server.js';
import { freePort, sandboxDown, sandboxUp, serverSpec, type SandboxState } from '../sandbox/sandbox.js';
import { defaultThreads } from '../../seed/parallel-seed.js';
import { OperatorError } from '../../support/errors.js';
import type { Log } from '../../support/log.js';
import { BENCH_DATABASE, BENCH_TABLES, createBenchData } from './bench-data.js';

export interface BenchOptions {
  dir: string;
  /** Rows per table for each size to measure; 500000 is the runbook's ~0.5 GB. */
  sizes: number[];
  threads?: number;
  /** Runs of each method a goal compares (ours and myloader, per target setting), interleaved; their medians count. */
  repeat?: number;
  log: Log;
}

type Method = 'original' | 'pipe' | 'mydumper' | 'floor' | 'oursWhole' | 'ours' | 'physical';
/** The target's binary log: on (as during replication), or a target started without one (load mode: RDS with backups off). */
export type TargetSetting = 'binlog' | 'loadMode';
type LogicalMethod = Exclude<Method, 'physical'>;
/** The runs the goals compare, each repeated: ours and myloader on each target setting, and myloader's default. */
type Compared = 'oursBinlog' | 'mydumperBinlog' | 'mydumperDefault' | 'oursLoadMode' | 'mydumperLoadMode';

export interface BenchSize {
  rowsPerTable: number;
  rows: number;
  dataMb: number;
  threads: number;
  /** Runs of each compared method; the times and CPU figures above them are the medians. */
  repeat: number;
  /** Every run's wall time (ms) of the compared methods, in the order they ran. */
  samples: Record<Compared, number[]>;
  /** As before: a target with its binlog on, and myloader in its default (its sessions skip the binlog, which needs SUPER). */
  ms: Record<Method, number>;
  /** Every logical method writing to the target's binlog (myloader with --enable-binlog). */
  msBinlog: Record<LogicalMethod, number>;
  /** Every logical method into a target started without a binlog (myloader in its default). */
  msLoadMode: Record<LogicalMethod, number>;
  /** CPU seconds the target server spent on each load (mydumperDefault: myloader skipping the binlog on a binlogging target). */
  targetCpuSeconds: { binlog: Record<string, number>; loadMode: Record<string, number> };
  speedupVsMyloaderEqualBinlog: number;
  /** Ours (every table in chunks) against ours loading tables whole with their keys in place, same target setting. */
  speedupVsWhole: Record<TargetSetting, number>;
  speedupVsMyloaderLoadMode: number;
  /** Ours in load mode against myloader's default run on a binlogging target. */
  speedupLoadModeVsMyloaderDefault: number;
  oursPeakRssMb: number;
  oursLoadModePeakRssMb: number;
  /** CPU seconds our seed's own process used, beside the target's (binlog on / load mode). */
  oursProcessCpuSeconds: Record<TargetSetting, number>;
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
    for (const rowsPerTable of options.sizes)
      sizes.push(await benchOneSize(state, rowsPerTable, options.threads ?? defaultThreads(), options.repeat ?? 3, log));
  } finally {
    await sandboxDown(options.dir);
  }
  return { ok: true, sizes };
}

interface Run {
  state: SandboxState;
  threads: number;
  work: string;
  source: Connection;
  target: Connection;
  sourceDir: string;
  targetDir: string;
  /** Set by the physical method: the copy to check is that server's. */
  physicalDir?: string;
  peakRssMb: number;
  /** CPU seconds (user + system) of the last run of our seed's own process. */
  oursCpuS: number;
}

type Connection = Awaited<ReturnType<typeof rootConnection>>;

/** What each method does to the target, for the table. */
export const EFFECT: Record<TargetSetting, Record<Method, string>> = {
  binlog: {
    original: 'every row in the target binlog',
    pipe: 'every row in the target binlog',
    mydumper: 'every row in the target binlog (--enable-binlog)',
    floor: 'every row in the target binlog',
    oursWhole: 'every row in the target binlog',
    ours: 'every row in the target binlog',
    physical: 'a new server from a copy of the files',
  },
  loadMode: {
    original: 'target started without binlog',
    pipe: 'target started without binlog',
    mydumper: 'target started without binlog',
    floor: 'target started without binlog',
    oursWhole: 'target started without binlog',
    ours: 'target started without binlog',
    physical: '',
  },
};

async function benchOneSize(state: SandboxState, rowsPerTable: number, threads: number, repeat: number, log: Log): Promise<BenchSize> {
  const sourceDir = join(state.dir, 'servers', 'source-master');
  const targetDir = join(state.dir, 'servers', 'target-master');
  const run: Run = {
    state,
    threads,
    work: join(state.dir, 'bench-files'),
    source: await rootConnection(sourceDir),
    target: await rootConnection(targetDir),
    sourceDir,
    targetDir,
    peakRssMb: 0,
    oursCpuS: 0,
  };
  try {
    log.info(`bench: generating ${BENCH_TABLES.length} tables x ${rowsPerTable} rows`);
    await createBenchData(run.source, rowsPerTable);
    // Fresh statistics, or information_schema reports the sizes of the empty tables.
    for (const t of BENCH_TABLES) await run.source.query(`ANALYZE TABLE ${BENCH_DATABASE}.${t}`);
    const [size] = (await run.source.query(
      `SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS b FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${BENCH_DATABASE}'`,
    )) as unknown as [{ b: string }[]];
    const dataMb = Number(size[0]!.b) / 1e6;
    const expected = await checksums(run.source);
    const time = async (label: string, method: () => Promise<number | void>): Promise<Timed> => {
      const timed = await timeOne(run, expected, label, method);
      log.info(
        `bench ${rowsPerTable} rows/table: ${label.padEnd(32)} ${(timed.ms / 1000).toFixed(1).padStart(6)} s, target CPU ${timed.targetCpuS.toFixed(1)} s  (copy verified by CHECKSUM TABLE)`,
      );
      return { ...timed, peakRssMb: run.peakRssMb, oursCpuS: run.oursCpuS };
    };
    const timeEach = async <K extends string>(entries: [K, string, () => Promise<number | void>][]) => {
      const out = {} as Record<K, Timed>;
      for (const [key, label, method] of entries) out[key] = await time(label, method);
      return out;
    };

    const binlogOnce = await timeEach([
      ['original', 'original (binlog)', methods(run, 'original')],
      ['pipe', 'pipe (binlog)', methods(run, 'pipe')],
      ['floor', 'floor (binlog)', methods(run, 'floor')],
      ['oursWhole', 'oursWhole (binlog)', methods(run, 'oursWhole')],
      ['physical', 'physical', methods(run, 'physical')],
    ]);
    const binlog = await rounds(repeat, time, [
      ['mydumperDefault', 'mydumper (binlog, skipped by myloader)', methods(run, 'mydumper')],
      ['mydumperBinlog', 'mydumper --enable-binlog', methods(run, 'mydumper', true)],
      ['oursBinlog', 'ours (binlog)', methods(run, 'ours')],
    ]);
    await restartTarget(run, true);
    let loadOnce: Record<'original' | 'pipe' | 'floor' | 'oursWhole', Timed>;
    let load: Record<'mydumperLoadMode' | 'oursLoadMode', Sampled>;
    try {
      loadOnce = await timeEach([
        ['original', 'original (load mode: no binlog)', methods(run, 'original')],
        ['pipe', 'pipe (load mode: no binlog)', methods(run, 'pipe')],
        ['floor', 'floor (load mode: no binlog)', methods(run, 'floor')],
        ['oursWhole', 'oursWhole (load mode: no binlog)', methods(run, 'oursWhole')],
      ]);
      load = await rounds(repeat, time, [
        ['mydumperLoadMode', 'mydumper (load mode: no binlog)', methods(run, 'mydumper')],
        ['oursLoadMode', 'ours (load mode: no binlog)', methods(run, 'ours')],
      ]);
    } finally {
      await restartTarget(run, false);
    }
    rmSync(run.work, { recursive: true, force: true });

    const msBinlog: BenchSize['msBinlog'] = {
      original: binlogOnce.original.ms,
      pipe: binlogOnce.pipe.ms,
      mydumper: binlog.mydumperBinlog.ms,
      floor: binlogOnce.floor.ms,
      oursWhole: binlogOnce.oursWhole.ms,
      ours: binlog.oursBinlog.ms,
    };
    const msLoadMode: BenchSize['msLoadMode'] = {
      original: loadOnce.original.ms,
      pipe: loadOnce.pipe.ms,
      mydumper: load.mydumperLoadMode.ms,
      floor: loadOnce.floor.ms,
      oursWhole: loadOnce.oursWhole.ms,
      ours: load.oursLoadMode.ms,
    };
    const ms: BenchSize['ms'] = { ...msBinlog, mydumper: binlog.mydumperDefault.ms, physical: binlogOnce.physical.ms };
    const onceCpu = (once: Record<'original' | 'pipe' | 'floor' | 'oursWhole', Timed>) => ({
      original: once.original.targetCpuS,
      pipe: once.pipe.targetCpuS,
      floor: once.floor.targetCpuS,
      oursWhole: once.oursWhole.targetCpuS,
    });
    const targetCpuSeconds: BenchSize['targetCpuSeconds'] = {
      binlog: {
        ...onceCpu(binlogOnce),
        mydumperDefault: binlog.mydumperDefault.targetCpuS,
        mydumper: binlog.mydumperBinlog.targetCpuS,
        ours: binlog.oursBinlog.targetCpuS,
      },
      loadMode: { ...onceCpu(loadOnce), mydumper: load.mydumperLoadMode.targetCpuS, ours: load.oursLoadMode.targetCpuS },
    };
    const rows = rowsPerTable * BENCH_TABLES.length;
    const gb = dataMb / 1000;
    return {
      rowsPerTable,
      rows,
      dataMb: round(dataMb, 1),
      threads,
      repeat,
      samples: {
        oursBinlog: binlog.oursBinlog.samples,
        mydumperBinlog: binlog.mydumperBinlog.samples,
        mydumperDefault: binlog.mydumperDefault.samples,
        oursLoadMode: load.oursLoadMode.samples,
        mydumperLoadMode: load.mydumperLoadMode.samples,
      },
      ms,
      msBinlog,
      msLoadMode,
      targetCpuSeconds,
      speedupVsMyloaderEqualBinlog: round(msBinlog.mydumper / msBinlog.ours),
      speedupVsMyloaderLoadMode: round(msLoadMode.mydumper / msLoadMode.ours),
      speedupVsWhole: { binlog: round(msBinlog.oursWhole / msBinlog.ours), loadMode: round(msLoadMode.oursWhole / msLoadMode.ours) },
      speedupLoadModeVsMyloaderDefault: round(ms.mydumper / msLoadMode.ours),
      oursPeakRssMb: round(binlog.oursBinlog.peakRssMb, 1),
      oursLoadModePeakRssMb: round(load.oursLoadMode.peakRssMb, 1),
      oursProcessCpuSeconds: { binlog: round(binlog.oursBinlog.oursCpuS, 1), loadMode: round(load.oursLoadMode.oursCpuS, 1) },
      oursRowsPerSec: Math.round(rows / (ms.ours / 1000)),
      speedupVsOriginal: round(ms.original / ms.ours),
      speedupVsPipe: round(ms.pipe / ms.ours),
      speedupVsMyloader: round(ms.mydumper / ms.ours),
      ratioToFloor: round(ms.ours / ms.floor),
      msPerGb: Object.fromEntries(Object.entries(ms).map(([k, v]) => [k, Math.round(v / gb)])),
    };
  } finally {
    await Promise.all([run.source.end(), run.target.end()]);
  }
}

interface Timed {
  ms: number;
  targetCpuS: number;
  /** Our seed process's peak RSS and CPU at its last run (meaningful after an `ours` method). */
  peakRssMb: number;
  oursCpuS: number;
}
/** Medians over the samples, and the highest peak RSS. */
interface Sampled extends Timed {
  samples: number[];
}

const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Each method `repeat` times, interleaved (every round runs each once, in alternating order), so that a slow
 * spell of a shared machine falls on all of them rather than on one; the medians count.
 */
async function rounds<K extends string>(
  repeat: number,
  time: (label: string, method: () => Promise<number | void>) => Promise<Timed>,
  entries: [K, string, () => Promise<number | void>][],
): Promise<Record<K, Sampled>> {
  const runs = new Map<K, Timed[]>(entries.map(([key]) => [key, []]));
  for (let round = 0; round < repeat; round++) {
    const order = round % 2 === 0 ? entries : [...entries].reverse();
    for (const [key, label, method] of order) runs.get(key)!.push(await time(repeat > 1 ? `${label} #${round + 1}` : label, method));
  }
  const out = {} as Record<K, Sampled>;
  for (const [key, timed] of runs)
    out[key] = {
      samples: timed.map((t) => t.ms),
      ms: Math.round(median(timed.map((t) => t.ms))),
      targetCpuS: round(median(timed.map((t) => t.targetCpuS)), 1),
      peakRssMb: Math.max(...timed.map((t) => t.peakRssMb)),
      oursCpuS: median(timed.map((t) => t.oursCpuS)),
    };
  return out;
}

// In the order of the printed table.
const LOGICAL = ['original', 'pipe', 'mydumper', 'floor', 'oursWhole', 'ours'] as const;

/** Runs one method into an empty target and checks the copy; its time counts only if equal. */
async function timeOne(
  run: Run,
  expected: string[],
  label: string,
  method: () => Promise<number | void>,
): Promise<{ ms: number; targetCpuS: number }> {
  await run.target.query(`DROP DATABASE IF EXISTS ${BENCH_DATABASE}`);
  // Each method starts from an empty binlog, as it would on a new target, and the disk does not fill over the repeats.
  const [logBin] = (await run.target.query('SELECT @@log_bin AS on_')) as unknown as [{ on_: number }[]];
  if (Number(logBin[0]!.on_)) await run.target.query('RESET MASTER');
  rmSync(run.work, { recursive: true, force: true });
  mkdirSync(run.work, { recursive: true });
  const targetPid = Number(readFileSync(join(run.targetDir, 'mysqld.pid'), 'utf8').trim());
  const cpu0 = cpuSeconds(targetPid);
  const t0 = process.hrtime.bigint();
  const inner = await method();
  const wall = Number(process.hrtime.bigint() - t0) / 1e6;
  const targetCpuS = round(cpuSeconds(targetPid) - cpu0, 1);
  const copy = run.physicalDir ? await rootConnection(run.physicalDir) : run.target;
  const equal = sameChecksums(expected, await checksums(copy));
  if (run.physicalDir) {
    await copy.end();
    await stopMariadb(run.physicalDir);
    run.physicalDir = undefined;
  }
  if (!equal)
    throw new OperatorError(
      `bench: the ${label} copy is not equal to the source; its time does not count`,
      'this is a bug in that method or in the bench; report it',
      'bench',
    );
  return { ms: Math.round(typeof inner === 'number' ? inner : wall), targetCpuS };
}

/** CPU time a process has used (user + system): under a shared, busy machine a steadier measure of the target's work than wall time. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** The sandbox's stand-in for switching an RDS target's backups (and with them its binlog) off or on: a restart. */
async function restartTarget(run: Run, loadMode: boolean): Promise<void> {
  await run.target.end();
  await stopMariadb(run.targetDir);
  await startMariadb({ ...serverSpec(run.state, 'target-master'), binlog: !loadMode });
  run.target = await rootConnection(run.targetDir);
}

function methods(run: Run, name: Method, myloaderBinlog = false): () => Promise<number | void> {
  const { work, threads } = run;
  const S = socketPath(run.sourceDir);
  const T = socketPath(run.targetDir);
  const dumpArgs = `mariadb-dump -S ${S} -uroot --single-transaction --routines --triggers --databases ${BENCH_DATABASE}`;
  const sh = (script: string) => execa('bash', ['-o', 'pipefail', '-c', script]);
  const all: Record<Method, () => Promise<number | void>> = {
    original: async () => {
      await sh(`${dumpArgs} | gzip > ${work}/dump.sql.gz`);
      await sh(`zcat ${work}/dump.sql.gz | mariadb -S ${T} -uroot`);
    },
    pipe: async () => {
      await sh(`${dumpArgs} | mariadb -S ${T} -uroot`);
    },
    mydumper: async () => {
      await execa('mydumper', [
        '-S',
        S,
        '-u',
        'root',
        '-t',
        String(threads),
        '-r',
        '100000',
        '-B',
        BENCH_DATABASE,
        '-o',
        `${work}/mydumper`,
      ]);
      await execa('myloader', [
        '-S',
        T,
        '-u',
        'root',
        '-t',
        String(threads),
        '-d',
        `${work}/mydumper`,
        '-o',
        ...(myloaderBinlog ? ['--enable-binlog'] : []),
      ]);
    },
    floor: () => serverSideFloor(run),
    oursWhole: () => ours(run, 1024 ** 3),
    ours: () => ours(run),
    physical: async () => {
      // The sandbox's stand-in for snapshot → encrypted copy → restore: a physical copy of the
      // whole server (mariadb-backup), prepared and started as a server of its own.
      const dir = join(work, 'physical');
      mkdirSync(dir, { recursive: true });
      await execa(
        'mariadb-backup',
        ['--backup', `--target-dir=${join(dir, 'data')}`, `--socket=${S}`, '--user=root', `--parallel=${threads}`],
        { stdio: 'ignore' },
      );
      await execa('mariadb-backup', ['--prepare', `--target-dir=${join(dir, 'data')}`], { stdio: 'ignore' });
      await startMariadb({ name: 'physical', dir, port: await freePort(), serverId: 9 });
      run.physicalDir = dir;
    },
  };
  return all[name];
}

/** Our seed in a process of its own, so that its peak RSS is ours alone. */
async function ours(run: Run, wholeTableMaxBytes?: number): Promise<number> {
  const { state, work, threads } = run;
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
    '',
    wholeTableMaxBytes === undefined ? '' : String(wholeTableMaxBytes),
  ]);
  const report = JSON.parse(stdout.trim().split('\n').pop()!) as { ms: number; peakRssMb: number; cpuS: number };
  run.peakRssMb = report.peakRssMb;
  run.oursCpuS = report.cpuS;
  return report.ms;
}

/** Server-side files on both ends: RDS has no FILE privilege, so this is a reference, not a floor. */
async function serverSideFloor(run: Run): Promise<void> {
  await run.target.query(`CREATE DATABASE ${BENCH_DATABASE}`);
  for (const t of BENCH_TABLES) {
    const [rows] = await run.source.query(`SHOW CREATE TABLE ${BENCH_DATABASE}.${t}`);
    await run.target.query(`USE ${BENCH_DATABASE}`);
    await run.target.query(String((rows as Record<string, string>[])[0]!['Create Table']));
  }
  const s = await Promise.all(BENCH_TABLES.map(() => rootConnection(run.sourceDir)));
  const d = await Promise.all(BENCH_TABLES.map(() => rootConnection(run.targetDir)));
  try {
    await Promise.all(BENCH_TABLES.map((t, i) => s[i]!.query(`SELECT * FROM ${BENCH_DATABASE}.${t} INTO OUTFILE '${run.work}/${t}.tsv'`)));
    await Promise.all(BENCH_TABLES.map((t, i) => d[i]!.query(`LOAD DATA INFILE '${run.work}/${t}.tsv' INTO TABLE ${BENCH_DATABASE}.${t}`)));
  } finally {
    await Promise.all([...s, ...d].map((c) => c.end()));
  }
}

async function checksums(c: Connection): Promise<string[]> {
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

const LABEL: Record<Method, string> = {
  original: 'original: dump \\| gzip, zcat \\| load',
  pipe: 'dump \\| load pipe',
  mydumper: 'mydumper/myloader',
  floor: 'server-side LOAD DATA INFILE (not on RDS)',
  oursWhole: 'ours, tables whole with their keys where the rule allows (the alternative)',
  ours: '**ours**',
  physical: 'physical copy',
};

export function printBench(log: Log, sizes: BenchSize[]): void {
  const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const head = `| method | target | what it does to the target | ${sizes.map((s) => `${s.rowsPerTable * BENCH_TABLES.length} rows (${Math.round(s.dataMb)} MB): wall (target CPU)${s.repeat > 1 ? `, medians of ${s.repeat} runs where runs are listed` : ''}`).join(' | ')} |`;
  const rule = `|---|---|---|${sizes.map(() => '---|').join('')}`;
  const row = (
    method: Method,
    target: string,
    effect: string,
    pick: (s: BenchSize) => number,
    cpu?: (s: BenchSize) => number | undefined,
    samples?: (s: BenchSize) => number[],
  ) =>
    `| ${LABEL[method]} | ${target} | ${effect} | ${sizes
      .map(
        (s) =>
          `${sec(pick(s))}${cpu?.(s) !== undefined ? ` (${cpu(s)!.toFixed(1)} s)` : ''}${
            samples && s.repeat > 1
              ? `; runs ${samples(s)
                  .map((x) => (x / 1000).toFixed(1))
                  .join(', ')}`
              : ''
          }`,
      )
      .join(' | ')} |`;
  const lines = ['', head, rule];
  const runs = (compared: Compared) => (s: BenchSize) => s.samples[compared];
  const sampled: Partial<Record<`${TargetSetting}:${Method}`, (s: BenchSize) => number[]>> = {
    'binlog:mydumper': runs('mydumperBinlog'),
    'binlog:ours': runs('oursBinlog'),
    'loadMode:mydumper': runs('mydumperLoadMode'),
    'loadMode:ours': runs('oursLoadMode'),
  };
  for (const m of LOGICAL)
    lines.push(
      row(
        m,
        'binlog on',
        EFFECT.binlog[m],
        (s) => s.msBinlog[m],
        (s) => s.targetCpuSeconds.binlog[m],
        sampled[`binlog:${m}`],
      ),
    );
  lines.push(
    row(
      'mydumper',
      'binlog on',
      'myloader default: its sessions skip the binlog (needs SUPER; not on RDS)',
      (s) => s.ms.mydumper,
      (s) => s.targetCpuSeconds.binlog.mydumperDefault,
      runs('mydumperDefault'),
    ),
  );
  for (const m of LOGICAL)
    lines.push(
      row(
        m,
        'load mode',
        EFFECT.loadMode[m],
        (s) => s.msLoadMode[m],
        (s) => s.targetCpuSeconds.loadMode[m],
        sampled[`loadMode:${m}`],
      ),
    );
  lines.push(row('physical', '-', EFFECT.binlog.physical, (s) => s.ms.physical));
  lines.push(
    '',
    '| rows/table | ours vs myloader, binlog on both | ours vs myloader, load mode both | ours load mode vs myloader default | ours vs ours with whole tables (binlog / load mode) | ours vs original | ours peak RSS (binlog / load mode) | ours process CPU (binlog / load mode) | ours s per GB (binlog / load mode) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...sizes.map(
      (s) =>
        `| ${s.rowsPerTable} | ${s.speedupVsMyloaderEqualBinlog}x | ${s.speedupVsMyloaderLoadMode}x | ${s.speedupLoadModeVsMyloaderDefault}x | ${s.speedupVsWhole.binlog}x / ${s.speedupVsWhole.loadMode}x | ${s.speedupVsOriginal}x | ${s.oursPeakRssMb} / ${s.oursLoadModePeakRssMb} MB | ${s.oursProcessCpuSeconds.binlog} / ${s.oursProcessCpuSeconds.loadMode} s | ${(s.msBinlog.ours / s.dataMb).toFixed(1)} / ${(s.msLoadMode.ours / s.dataMb).toFixed(1)} |`,
    ),
  );
  log.info(lines.join('\n'));
}
