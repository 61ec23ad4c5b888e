import { LocalJournalStore, S3JournalStore } from '../../scripts/core/journal-store.js';
import { Journal } from '../../scripts/core/journal.js';

// Tries the migration lock once; prints "got" or "locked"; holds it until stdin closes.
const spec = JSON.parse(process.argv[2]!) as { kind: 'local'; dir: string } | { kind: 's3'; bucket: string; prefix: string };
const store =
  spec.kind === 'local'
    ? new LocalJournalStore(spec.dir)
    : new S3JournalStore({ bucket: spec.bucket, prefix: spec.prefix, region: 'eu-west-1' });
let release: (() => void) | undefined;
try {
  release = Journal.open(store, 'm').lock('contender');
  process.stdout.write('got\n');
} catch (err) {
  process.stdout.write(`${(err as { code?: string }).code === 'locked' ? 'locked' : `error ${(err as Error).message}`}\n`);
}
process.stdin.resume();
process.stdin.on('end', () => {
  release?.();
  process.exit(0);
});
