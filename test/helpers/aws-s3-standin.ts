import { after } from 'node:test';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A stand-in `aws` executable for `s3api get-object/put-object/delete-object`
 * with S3's conditional-write answers (If-None-Match: *, If-Match: ETag →
 * 412 PreconditionFailed), over a local folder. Each call is serialized per
 * key with an exclusive mkdir, as S3 serializes conditional writes. There is
 * no S3 here: this is how far the S3 journal store can be tested.
 */
export function s3StandIn(): { bin: string; root: string; calls: string } {
  const bin = mkdtempSync(join(tmpdir(), 'rlm-aws-s3-'));
  const root = join(bin, 'buckets');
  const calls = join(bin, 'calls.log');
  writeFileSync(
    join(bin, 'aws'),
    `#!/usr/bin/env node
const fs = require('node:fs'), path = require('node:path'), crypto = require('node:crypto');
const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i < 0 ? undefined : args[i + 1]; };
fs.appendFileSync(${JSON.stringify(calls)}, args.slice(0, 2).join(' ') + ' ' + (opt('--key') || '') + ' ' + (opt('--if-match') ? 'if-match' : opt('--if-none-match') ? 'if-none-match' : '') + '\\n');
let mutex;
const fail = (code, op, msg) => { if (mutex) fs.rmSync(mutex, { recursive: true, force: true }); process.stderr.write('\\nAn error occurred (' + code + ') when calling the ' + op + ' operation: ' + msg + '\\n'); process.exit(254); };
if (args[0] !== 's3api') fail('InvalidAction', args[1] || '?', 'stand-in knows only s3api');
const file = path.join(${JSON.stringify(root)}, opt('--bucket'), opt('--key'));
const etag = (buf) => '"' + crypto.createHash('md5').update(buf).digest('hex') + '"';
fs.mkdirSync(path.dirname(file), { recursive: true });
mutex = file + '.mutex';
const sleep = new Int32Array(new SharedArrayBuffer(4));
for (;;) { try { fs.mkdirSync(mutex); break; } catch { Atomics.wait(sleep, 0, 0, 5); } }
try {
  const exists = fs.existsSync(file);
  if (args[1] === 'get-object') {
    if (!exists) fail('NoSuchKey', 'GetObject', 'The specified key does not exist.');
    const body = fs.readFileSync(file);
    fs.writeFileSync(args[args.indexOf('--key') + 2], body);
    process.stdout.write(JSON.stringify({ ETag: etag(body) }));
  } else if (args[1] === 'put-object') {
    const ifMatch = opt('--if-match'), ifNone = opt('--if-none-match');
    if (ifNone === '*' && exists) fail('PreconditionFailed', 'PutObject', 'At least one of the pre-conditions you specified did not hold');
    if (ifMatch !== undefined && (!exists || etag(fs.readFileSync(file)) !== ifMatch)) fail('PreconditionFailed', 'PutObject', 'At least one of the pre-conditions you specified did not hold');
    const body = fs.readFileSync(opt('--body'));
    fs.writeFileSync(file + '.tmp', body); fs.renameSync(file + '.tmp', file);
    process.stdout.write(JSON.stringify({ ETag: etag(body) }));
  } else if (args[1] === 'delete-object') {
    fs.rmSync(file, { force: true });
    process.stdout.write('{}');
  } else fail('InvalidAction', args[1], 'not in the stand-in');
} finally { fs.rmdirSync(mutex); }
`,
  );
  chmodSync(join(bin, 'aws'), 0o755);
  return { bin, root, calls };
}

/** The stand-in first on PATH for this test file, removed after it. */
export function s3StandInOnPath(): ReturnType<typeof s3StandIn> {
  const s3 = s3StandIn();
  const path = process.env.PATH;
  process.env.PATH = `${s3.bin}:${path}`;
  after(() => {
    process.env.PATH = path;
    rmSync(s3.bin, { recursive: true, force: true });
  });
  return s3;
}
