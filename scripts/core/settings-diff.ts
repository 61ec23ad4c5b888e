import type { Server } from '../db/connection.js';
import type { Finding } from '../run/preflight/index.js';

/**
 * How a difference is judged: `equal` values must match; `not-smaller` allows
 * a target value at least as large (a larger limit changes no result).
 */
type Rule = 'equal' | 'not-smaller';

interface Setting {
  readonly rule: Rule;
  /** Why the application sees a difference in it. */
  readonly why: string;
}

/**
 * The global variables that change what the application sees once it runs on
 * the target. Replication in ROW format applies cleanly whatever they are, so
 * verify stays clean while queries return other results: they are compared here.
 */
export const COMPARED_SETTINGS = {
  sql_mode: { rule: 'equal', why: 'strictness, zero dates, ONLY_FULL_GROUP_BY, quoting: errors or silently truncated data' },
  time_zone: {
    rule: 'equal',
    why: 'NOW(), TIMESTAMP columns and FROM_UNIXTIME read and write in it (SYSTEM is compared with the host zone)',
  },
  time_zone_tables: { rule: 'equal', why: 'named zones (time_zone, CONVERT_TZ) return NULL or fail where mysql.time_zone* is empty' },
  character_set_server: { rule: 'equal', why: 'default character set of databases and tables created without one' },
  collation_server: { rule: 'equal', why: 'default collation of new databases: comparisons, ORDER BY and unique keys' },
  max_allowed_packet: { rule: 'not-smaller', why: 'a smaller limit refuses large rows and statements the source accepted' },
  group_concat_max_len: { rule: 'equal', why: 'GROUP_CONCAT results are cut at this length' },
  lower_case_table_names: { rule: 'equal', why: 'table name lookup: queries find different (or no) tables' },
  innodb_strict_mode: { rule: 'equal', why: 'CREATE/ALTER TABLE fail or only warn' },
  transaction_isolation: { rule: 'equal', why: 'what concurrent transactions see (tx_isolation on older servers)' },
  event_scheduler: { rule: 'equal', why: 'scheduled events run or not after cutover' },
  auto_increment_increment: { rule: 'equal', why: 'the ids new rows get' },
  auto_increment_offset: { rule: 'equal', why: 'the ids new rows get' },
  explicit_defaults_for_timestamp: { rule: 'equal', why: 'NULL and default handling of TIMESTAMP columns' },
  div_precision_increment: { rule: 'equal', why: 'digits of division results' },
  ft_min_word_len: { rule: 'equal', why: 'MyISAM full-text search results' },
  ft_max_word_len: { rule: 'equal', why: 'MyISAM full-text search results' },
  ft_stopword_file: { rule: 'equal', why: 'MyISAM full-text search results' },
  innodb_ft_min_token_size: { rule: 'equal', why: 'InnoDB full-text search results' },
  innodb_ft_max_token_size: { rule: 'equal', why: 'InnoDB full-text search results' },
  innodb_ft_enable_stopword: { rule: 'equal', why: 'InnoDB full-text search results' },
  innodb_ft_server_stopword_table: { rule: 'equal', why: 'InnoDB full-text search results' },
  default_storage_engine: { rule: 'equal', why: 'engine of tables created without ENGINE=' },
  default_week_format: { rule: 'equal', why: 'WEEK() results' },
  sql_select_limit: { rule: 'equal', why: 'caps the rows every SELECT returns' },
  max_sort_length: { rule: 'equal', why: 'ORDER BY/GROUP BY on long values compare only this prefix: other orders' },
  lc_time_names: { rule: 'equal', why: 'month and day names in DATE_FORMAT' },
  completion_type: { rule: 'equal', why: 'what COMMIT and ROLLBACK do next (chain, release)' },
  autocommit: { rule: 'equal', why: 'whether statements commit on their own' },
  init_connect: { rule: 'equal', why: 'runs in every application session at login' },
  old_mode: { rule: 'equal', why: 'MariaDB compatibility behaviours of queries' },
  sql_safe_updates: { rule: 'equal', why: 'UPDATE/DELETE without a key are refused' },
  max_join_size: { rule: 'equal', why: 'large SELECTs are refused' },
  block_encryption_mode: { rule: 'equal', why: 'AES_ENCRYPT/AES_DECRYPT results (MySQL)' },
} as const satisfies Record<string, Setting>;

export type SettingName = keyof typeof COMPARED_SETTINGS;
export const SETTING_NAMES = Object.keys(COMPARED_SETTINGS) as SettingName[];

/**
 * Considered and left out, each for a reason; kept here so that the choice is
 * read next to the list above.
 */
export const NOT_COMPARED: Record<string, string> = {
  character_set_database: 'follows the default database; each database keeps its own character set, copied with the schema',
  character_set_client: 'set by each client at login (the driver), not taken from the global value',
  big_tables: 'where temporary tables live, not what queries return (deprecated)',
  optimizer_switch: 'changes plans, not results; differs between versions by design',
  local_infile: 'the logical seed needs it on the target; the application rarely does',
  binlog_format: 'set by the target stack (ROW), checked by preflight',
  log_bin_trust_function_creators: 'set by the target stack so that routines can be created',
  wait_timeout: 'ends idle connections; pools reconnect, results do not change',
  innodb_flush_log_at_trx_commit: 'relaxed on purpose while the target catches up; cutover refuses a target less durable than the source',
  sync_binlog: 'relaxed on purpose while the target catches up; cutover refuses a target less durable than the source',
};

/** A variable and the names it has on other versions (MariaDB before 11.1 and MySQL 5.7 say tx_isolation). */
const ALIASES: Partial<Record<SettingName, string>> = { transaction_isolation: 'tx_isolation' };

export type Settings = Partial<Record<SettingName, string>>;

export async function readSettings(server: Server): Promise<Settings> {
  const names = [...SETTING_NAMES, ...Object.values(ALIASES), 'system_time_zone'];
  const rows = await server.query<{ Variable_name: string; Value: string }>(
    `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${names.map(() => '?').join(', ')})`,
    names,
  );
  const raw = new Map(rows.map((r) => [r.Variable_name.toLowerCase(), String(r.Value ?? '')]));
  const settings: Settings = {};
  for (const name of SETTING_NAMES) {
    const value = raw.get(name) ?? (ALIASES[name] ? raw.get(ALIASES[name]!) : undefined);
    if (value !== undefined) settings[name] = value;
  }
  // SYSTEM means the host's zone: two SYSTEMs on hosts in different zones differ.
  if (settings.time_zone === 'SYSTEM') settings.time_zone = `SYSTEM (${raw.get('system_time_zone') ?? '?'})`;
  settings.time_zone_tables = Number(await server.value('SELECT COUNT(*) FROM mysql.time_zone_name')) > 0 ? 'loaded' : 'empty';
  return settings;
}

export interface SettingDifference {
  name: SettingName;
  source: string | undefined;
  target: string | undefined;
}

export function differences(source: Settings, target: Settings): SettingDifference[] {
  const found: SettingDifference[] = [];
  for (const name of SETTING_NAMES) {
    const [s, t] = [source[name], target[name]];
    if (s === undefined && t === undefined) continue;
    if (s === t || sameSet(name, s, t)) continue;
    if (COMPARED_SETTINGS[name].rule === 'not-smaller' && Number(t) >= Number(s)) continue;
    found.push({ name, source: s, target: t });
  }
  return found;
}

// The server prints sql_mode and old_mode flags in a fixed order, but a user-set parameter group may not.
function sameSet(name: SettingName, a?: string, b?: string): boolean {
  if ((name !== 'sql_mode' && name !== 'old_mode') || a === undefined || b === undefined) return false;
  const set = (v: string) =>
    v
      .split(',')
      .map((f) => f.trim().toUpperCase())
      .filter(Boolean)
      .sort()
      .join(',');
  return set(a) === set(b);
}

const shown = (v: string | undefined) => (v === undefined ? '(not present on this server)' : `'${v}'`);

function fixFor(d: SettingDifference): string {
  if (d.name === 'time_zone_tables') {
    return 'load the time zone tables on target-master (RDS has them; self-managed: mariadb-tzinfo-to-sql /usr/share/zoneinfo | mariadb mysql)';
  }
  const value = d.source === undefined ? '(remove it)' : d.source.replace(/^SYSTEM \(.*\)$/, 'SYSTEM');
  return (
    `RDS: set ${d.name} = ${value} in the target's parameter group (config target.parameters, then deploy the target stack); ` +
    `sandbox or self-managed: SET GLOBAL ${d.name} = '${value.replace(/'/g, "''")}' on target-master (and in its config file). ` +
    `If the difference is intended, add "${d.name}" to migration.acceptSettingsDifferences`
  );
}

/** The settings difference as a preflight finding: blocking unless the config accepts it by name. */
export function settingFinding(d: SettingDifference, accepted: readonly string[]): Finding {
  const ok = accepted.includes(d.name);
  return {
    id: `setting-${d.name}`,
    severity: ok ? 'info' : 'block',
    server: 'target-master',
    message: `${d.name} differs: source-master has ${shown(d.source)}, target-master has ${shown(d.target)} (${COMPARED_SETTINGS[d.name].why})${ok ? '; accepted by migration.acceptSettingsDifferences' : ''}`,
    fix: ok ? 'nothing to do' : fixFor(d),
  };
}

export async function settingsFindings(source: Server, target: Server, accepted: readonly string[]): Promise<Finding[]> {
  const [s, t] = await Promise.all([readSettings(source), readSettings(target)]);
  return differences(s, t).map((d) => settingFinding(d, accepted));
}
