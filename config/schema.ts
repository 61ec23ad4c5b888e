import { z } from 'zod';
import { SETTING_NAMES } from '../scripts/core/settings-diff.js';

// RDS identifiers: 1-63 letters, digits or hyphens, starting with a letter,
// no trailing hyphen and no two hyphens in a row (AWS's own rule).
const rdsIdentifier = z
  .string()
  .regex(/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/i, 'expected an RDS identifier: letters, digits and single hyphens, starting with a letter')
  .max(63, 'expected at most 63 characters');

const securityGroupId = z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'expected a security group id like sg-0123456789abcdef0');

/**
 * Where a secret comes from. The config holds only the reference, never the
 * secret: `env:NAME` (an environment variable holding the password),
 * an AWS Secrets Manager ARN (a JSON secret with `username`/`password`, the
 * format RDS-managed master secrets use) or `file:/path` (the same JSON in a
 * local file, used by the sandbox).
 */
export const secretRef = z
  .string()
  .regex(
    /^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+|arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+)$/,
    'expected env:VARIABLE_NAME, file:/path/to/secret.json or a Secrets Manager ARN',
  );

const kmsKeyArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+$/, 'expected a KMS key or alias ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)');

const tags = z.record(z.string().min(1).max(128), z.string().max(256));

// What MariaDB accepts as a (quoted) database name, tried on a server: 1-64
// characters, any of them ('.', '/', '\\', quotes, backticks, non-ASCII) but NUL
// and characters outside the Basic Multilingual Plane, no trailing space, and
// not the reserved #mysql50# prefix.
const databaseName = z
  .string()
  .min(1, 'expected a database name, not an empty string')
  .refine((n) => [...n].length <= 64, 'expected a database name of at most 64 characters')
  .refine((n) => !n.endsWith(' '), 'a database name cannot end with a space (MariaDB refuses it)')
  .refine(
    (n) => !n.includes('\0') && !/[\u{10000}-\u{10FFFF}]/u.test(n),
    'a database name cannot hold NUL or characters outside the Basic Multilingual Plane such as emoji (MariaDB refuses them)',
  )
  .refine((n) => !n.startsWith('#mysql50#'), 'a database name cannot start with #mysql50# (reserved by MariaDB)');

export const engineFamilies = ['mariadb', 'mysql'] as const;

const outputRef = z
  .string()
  .regex(/^([A-Za-z0-9_-]+\.)?[A-Za-z0-9_-]+$/, 'expected STACK.OUTPUT (cdktf --outputs-file) or OUTPUT (terraform output -json)');

/** The outputs the engine reads, and where it finds each: `stack.output` in a cdktf outputs file, or `output` in `terraform output -json`. */
export const OUTPUT_KEYS = [
  'sourceAddress',
  'sourcePort',
  'replicaIdentifier',
  'replicaAddress',
  'replicaPort',
  'targetIdentifier',
  'targetAddress',
  'targetPort',
  'masterSecretArn',
  'kmsKeyArn',
  'frozenSnapshotIdentifier',
  'targetLoadMode',
  'targetDurability',
] as const;
export type OutputKey = (typeof OUTPUT_KEYS)[number];

const migrationName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'expected 1-63 lower-case letters, digits or hyphens (it names state keys and locks)');

/**
 * Where Terraform keeps each stack's state and the engine keeps the journal.
 * Every key includes the migration's name, so several migrations share one repo and bucket.
 */
const stateSchema = z.discriminatedUnion('backend', [
  z.strictObject({
    backend: z.literal('local'),
    /** Directory, relative to the config file. @default terraform-state */
    dir: z.string().min(1).default('terraform-state'),
  }),
  z.strictObject({
    backend: z.literal('s3'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'expected an S3 bucket name'),
    /** @default rds-live-migrate */
    keyPrefix: z
      .string()
      .regex(/^[A-Za-z0-9!_.*'()/-]*[A-Za-z0-9_.*'()-]$/, 'expected an S3 key prefix without a trailing slash')
      .default('rds-live-migrate'),
    /** @default the migration's region */
    region: z.string().optional(),
  }),
]);

export const migrationConfigSchema = z
  .strictObject({
    /** The migration's name: in every state key, lock and tag. @default target.instanceIdentifier */
    name: migrationName.optional(),
    /** Terraform state and journal: local files or S3 (shared by CI runners, locked). @default local, terraform-state beside the config */
    state: stateSchema.prefault({ backend: 'local' }),
    /** AWS region of source and target, e.g. eu-west-1. */
    region: z.string().regex(/^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/, 'expected an AWS region like eu-west-1'),
    /** Engine family of source and target: RDS MariaDB or RDS MySQL 8. */
    engine: z.enum(engineFamilies),
    source: z.strictObject({
      /** The existing, unencrypted instance. It is looked up, never modified. */
      instanceIdentifier: rdsIdentifier,
      /** The source's master user; the replica inherits it. */
      masterUsername: z.string().min(1).max(32),
      /** Where the source master password comes from (never the password itself). */
      passwordFrom: secretRef,
      /** Security group on the source that the target must reach on 3306. @default the source's first VPC security group */
      securityGroupId: securityGroupId.optional(),
    }),
    target: z.strictObject({
      /** Identifier of the new encrypted instance. */
      instanceIdentifier: rdsIdentifier,
      /** Engine version of the target, e.g. 10.11.8 or 8.0.39; must not be older than the source's. */
      engineVersion: z.string().regex(/^\d+\.\d+(\.\d+)?$/, 'expected a version like 10.11.8 or 8.0.39'),
      /** @default the source's instance class */
      instanceClass: z
        .string()
        .regex(/^db\.[a-z0-9-]+\.[a-z0-9]+$/, 'expected an instance class like db.r6g.large')
        .optional(),
      /** GiB. @default the source's allocated storage */
      allocatedStorage: z.number().int().min(20).max(65536).optional(),
      /** GiB ceiling for storage autoscaling. @default no autoscaling */
      maxAllocatedStorage: z.number().int().min(20).max(65536).optional(),
      /** @default the source's storage type */
      storageType: z.enum(['gp2', 'gp3', 'io1', 'io2']).optional(),
      /** @default the source's setting */
      multiAz: z.boolean().optional(),
      /** Master user of the target; its password is generated and kept by AWS Secrets Manager. @default admin */
      masterUsername: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9_]{0,15}$/, 'expected 1-16 letters, digits or underscores, starting with a letter')
        .default('admin'),
      /** Use this KMS key instead of creating one. @default a new key with rotation on */
      kmsKeyArn: kmsKeyArn.optional(),
      /** Days of automated backups; binlogs on RDS need at least 1. @default 7 */
      backupRetentionDays: z.number().int().min(1, 'binlogs on RDS need automated backups: at least 1 day').max(35).default(7),
      /** @default true */
      deletionProtection: z.boolean().default(true),
      /** Extra parameters for the target's parameter group (binlog_format=ROW and log_bin_trust_function_creators=1 are always set). */
      parameters: z.record(z.string().regex(/^[a-z_][a-z0-9_.]*$/), z.string()).default({}),
      /** Refuse unencrypted client connections (require_secure_transport). @default true */
      requireSecureTransport: z.boolean().default(true),
      /** Principals that administer the KMS key the stack creates (never use it). @default the account root, which delegates to IAM */
      keyAdminArns: z
        .array(
          z
            .string()
            .regex(
              /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/.+|user\/.+)$/,
              'expected an IAM role, user or root ARN like arn:aws:iam::123456789012:role/dba',
            ),
        )
        .min(1)
        .optional(),
      /** Instance settings that otherwise come from the source (docs/target-settings.md). */
      optionGroupName: z.string().min(1).max(255).optional(),
      iops: z.number().int().min(0).optional(),
      storageThroughput: z.number().int().min(0).optional(),
      backupWindow: z
        .string()
        .regex(/^\d\d:\d\d-\d\d:\d\d$/, 'expected hh24:mi-hh24:mi (UTC), e.g. 03:00-04:00')
        .optional(),
      maintenanceWindow: z
        .string()
        .regex(/^[a-z]{3}:\d\d:\d\d-[a-z]{3}:\d\d:\d\d$/, 'expected ddd:hh24:mi-ddd:hh24:mi (UTC), e.g. sun:05:00-sun:06:00')
        .optional(),
      monitoringInterval: z
        .union([z.literal(0), z.literal(1), z.literal(5), z.literal(10), z.literal(15), z.literal(30), z.literal(60)])
        .optional(),
      monitoringRoleArn: z
        .string()
        .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'expected an IAM role ARN')
        .optional(),
      /** @default off, since the source's setting cannot be looked up; the key is the target's own key */
      performanceInsights: z
        .strictObject({ enabled: z.boolean(), kmsKeyArn: kmsKeyArn.optional(), retentionDays: z.number().int().min(7).max(731).optional() })
        .optional(),
      cloudwatchLogsExports: z.array(z.enum(['audit', 'error', 'general', 'slowquery', 'iam-db-auth-error'])).optional(),
      caCertIdentifier: z.string().min(1).optional(),
      copyTagsToSnapshot: z.boolean().optional(),
      port: z.number().int().min(1150).max(65535).optional(),
      autoMinorVersionUpgrade: z.boolean().optional(),
      iamDatabaseAuthentication: z.boolean().optional(),
    }),
    network: z
      .strictObject({
        /** @default the source's DB subnet group */
        dbSubnetGroupName: z.string().min(1).max(255).optional(),
        /** @default the source's VPC security groups */
        securityGroupIds: z.array(securityGroupId).min(1).optional(),
        /** VPC of the target's own security group. @default the VPC of the target's DB subnet group */
        vpcId: z
          .string()
          .regex(/^vpc-[0-9a-f]{8,17}$/, 'expected a VPC id like vpc-0123456789abcdef0')
          .optional(),
        /** Add an ingress rule so the target can reach the source on its port. @default true */
        allowTargetToReachSource: z.boolean().default(true),
      })
      .prefault({}),
    replica: z
      .strictObject({
        /** @default the source's instance class */
        instanceClass: z
          .string()
          .regex(/^db\.[a-z0-9-]+\.[a-z0-9]+$/, 'expected an instance class like db.r6g.large')
          .optional(),
      })
      .prefault({}),
    /** Hours the source keeps binlogs; must outlast the seed and catch-up. @default 24 */
    binlogRetentionHours: z
      .number()
      .int()
      .min(1)
      .max(2160, 'RDS keeps binlogs at most 2160 hours (90 days; 168 on older engine versions)')
      .default(24),
    tags: tags.default({}),
    migration: z
      .strictObject({
        /** Journal (with the local state backend), lock and seed progress live here; relative to the config file. @default .rds-live-migrate */
        workDir: z.string().min(1).default('.rds-live-migrate'),
        /** Outputs written by `cdktf deploy --outputs-file` (or `terraform output -json`); relative to the config file. @default cdktf-outputs.json */
        outputsFile: z.string().min(1).default('cdktf-outputs.json'),
        /** Where each output is found, for stacks of your own: `stack.output`, or `output` in a `terraform output -json` file. @default this module's stacks and names */
        outputNames: z.partialRecord(z.enum(OUTPUT_KEYS), outputRef).default({}),
        /**
         * Who changes infrastructure when a phase needs it (the target restored from the frozen snapshot,
         * the replica removed, …). review: never the engine; \`run\` stops with exit code 3 and says what the
         * next deploy changes and why. auto: the engine runs deployCommand itself.
         * @default review
         */
        infrastructure: z.enum(['review', 'auto']).default('review'),
        /** With infrastructure auto: the deploy the engine runs. @default npx cdktf deploy source-replica target --auto-approve --outputs-file <outputsFile> */
        deployCommand: z.array(z.string().min(1)).min(1).optional(),
        /** Databases to migrate. @default every database except the system ones */
        databases: z.array(databaseName).min(1).optional(),
        /** Name of the replication user created on the source. @default rlm_repl */
        replicationUser: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,31}$/, 'expected up to 32 lower-case letters, digits or underscores')
          .default('rlm_repl'),
        /** Replicate over TLS; preflight fails if the source does not offer it. @default true */
        requireTls: z.boolean().default(true),
        /**
         * PEM file of the CA that signed the servers' certificates (self-managed servers, the sandbox); relative to the config file.
         * Every connection the tool opens verifies the server's certificate and name against it.
         * @default the Amazon RDS CA bundle (serverKind rds) or the system's public CAs (self-managed)
         */
        tlsCaFile: z.string().min(1).optional(),
        /** The run ends once the target is at most this far behind. @default 1 */
        caughtUpLagSeconds: z.number().int().min(0).max(3600).default(1),
        /** Give up waiting for catch-up after this long. @default 86400 */
        catchUpTimeoutSeconds: z.number().int().min(10).default(86400),
        /**
         * Replication that keeps failing with a fault a restart could heal (the link, a broken relay log) is
         * restarted with back-off; the run stops after it has failed for this long. Keep it well above the
         * server's own reconnect interval (60 s on RDS). @default 600
         */
        replicationGiveUpSeconds: z.number().int().min(30).max(86400).default(600),
        /** Connections per side for the seed. @default twice the cores of the machine running it, at most 8 */
        seedThreads: z.number().int().min(1).max(64).optional(),
        /**
         * How the target gets its first copy of the data. logical: an empty target, filled over SQL
         * in parallel chunks (scripts/seed/). snapshot: a snapshot of the frozen replica, copied with
         * the target's KMS key, and the target restored from it (AWS copies the storage). auto:
         * snapshot when the databases hold more than snapshotAboveGiB, decided once and journaled.
         * @default logical
         */
        seedMethod: z.enum(['logical', 'snapshot', 'auto']).default('logical'),
        /**
         * With the logical seed, the target is loaded in load mode: automated backups off (so no binary
         * log) and single-AZ, as AWS advises for full loads; it is switched to its configured settings by
         * a deploy after the seed, before it is pointed at the source. @default true
         */
        targetLoadMode: z.boolean().default(true),
        /**
         * Until the target has caught up, it flushes its redo log and binlog once a second rather than at
         * every commit (innodb_flush_log_at_trx_commit=2, sync_binlog=0): in the catch-up bench that made it
         * apply several times faster than the source commits. It takes no application write then, and a
         * crash loses only applied events that replication fetches again; the deploy after catch-up (the
         * one that removes the replica) makes every commit durable before verify and cutover. @default relaxed
         */
        catchUpDurability: z.enum(['relaxed', 'strict']).default('relaxed'),
        /** With seedMethod auto: data + index size above which the snapshot path is taken. @default 100 */
        snapshotAboveGiB: z.number().positive().default(100),
        /** With the snapshot seed, preflight asks AWS (aws CLI) whether the replica can be snapshotted and the KMS key used. @default true */
        awsChecks: z.boolean().default(true),
        /** Rows per chunk: the unit of parallelism and of resume. @default 50000 */
        seedChunkRows: z.number().int().min(100).max(10_000_000).default(50_000),
        /** A seed chunk whose load forwards no bytes for this long is killed on the target, cleared and copied again. @default 120 */
        seedStallSeconds: z.number().int().min(5).max(86_400).default(120),
        /** Routines, triggers, views and events whose DEFINER the target's master user cannot create: keep (preflight blocks) or rewrite to that user. @default keep */
        definers: z.enum(['keep', 'rewrite']).default('keep'),
        /** How replication is driven: RDS's mysql.rds_* procedures, or CHANGE MASTER on self-managed servers. @default rds */
        serverKind: z.enum(['rds', 'self-managed']).default('rds'),
        /** Command that moves the application (DNS, config, service discovery) at cutover and rollback; it gets RLM_DIRECTION, RLM_HOST and RLM_PORT. @default none: the operator moves it, prompted by the log */
        trafficSwitchCommand: z.array(z.string().min(1)).min(1).optional(),
        /** Cutover refuses to start when the target is further behind than this. @default 5 */
        cutoverMaxLagSeconds: z.number().int().min(0).max(600).default(5),
        /** Host the target uses to reach the source (as seen from the target). @default the source endpoint address */
        sourceHostForTarget: z.string().min(1).optional(),
        /** Port the target uses to reach the source (a proxy, a tunnel). @default the source endpoint port */
        sourcePortForTarget: z.number().int().min(1).max(65535).optional(),
        /** Host the old source uses to reach the target for reverse replication. @default the target endpoint address */
        targetHostForSource: z.string().min(1).optional(),
        /** Port the old source uses to reach the target (a proxy, a tunnel). @default the target endpoint port */
        targetPortForSource: z.number().int().min(1).max(65535).optional(),
        /** Settings differences between source and target (scripts/migrate/settings-diff.ts) that are intended: reported, not blocking. @default none */
        acceptSettingsDifferences: z
          .array(z.enum(SETTING_NAMES, { error: `expected one of the compared settings: ${SETTING_NAMES.join(', ')}` }))
          .default([]),
        /** Folder of executables run at each event, named rds-live-migrate-on-<event>[-suffix] (docs/hooks.md); relative to the config file. @default no hooks */
        hooksPath: z.string().min(1).optional(),
        /** A hook still running after this long is killed and fails its step. @default 600 */
        hookTimeoutSeconds: z.number().int().min(1).max(86_400).default(600),
        /** Warn when the target has been behind and applying no faster than the source writes for this long. @default 600 */
        applyRateWarnSeconds: z.number().int().min(10).max(86_400).default(600),
      })
      .prefault({}),
    /** The name the application connects to: a Route 53 CNAME that cutover and rollback move (docs/traffic-switch.md). @default none */
    dns: z
      .strictObject({
        /** The Route 53 hosted zone that holds the name. */
        zoneId: z.string().regex(/^Z[A-Z0-9]{1,32}$/, 'expected a Route 53 hosted zone id like Z0123456789ABCDEFGHIJ'),
        /** Fully qualified name, e.g. db.shop.internal. */
        name: z
          .string()
          .regex(
            /^([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{1,63}\.?$/i,
            'expected a fully qualified DNS name like db.shop.internal',
          ),
        /** Seconds resolvers may cache the name: the floor of how fast the switch takes effect. @default 5 */
        ttl: z.number().int().min(1).max(300).default(5),
        /** How long cutover and rollback wait for Route 53 to report the change in sync. @default 300 */
        syncTimeoutSeconds: z.number().int().min(10).max(3600).default(300),
      })
      .optional(),
  })
  .superRefine((config, ctx) => {
    // run re-keys the replication user and finalize drops it: it must never be an account someone else logs in with.
    const user = config.migration.replicationUser;
    for (const [side, master] of [
      ['source', config.source.masterUsername],
      ['target', config.target.masterUsername],
    ] as const) {
      if (user === master) {
        ctx.addIssue({
          code: 'custom',
          path: ['migration', 'replicationUser'],
          message: `"${user}" is the ${side} master user; the migration re-keys its replication user and finalize drops it. Choose a name no account uses (the default is rlm_repl)`,
        });
      }
    }
  })
  .refine((config) => config.source.instanceIdentifier.toLowerCase() !== config.target.instanceIdentifier.toLowerCase(), {
    path: ['target', 'instanceIdentifier'],
    // RDS identifiers are case-insensitive: MyDb and mydb are one instance.
    error: (issue) =>
      `"${(issue.input as { target: { instanceIdentifier: string } }).target.instanceIdentifier}" is also source.instanceIdentifier: it is the same server. The target must be a new instance with its own identifier`,
  });

export type MigrationConfigInput = z.input<typeof migrationConfigSchema>;
export type MigrationConfig = z.output<typeof migrationConfigSchema>;
export type EngineFamily = (typeof engineFamilies)[number];
