import { Transform, type TransformCallback } from 'node:stream';

/** Counts bytes flowing through and reports them; the hook lets tests crash mid-stream. */
export function byteCounter(onBytes: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      total += chunk.length;
      onBytes(total);
      done(null, chunk);
    },
  });
}

// DEFINER=`user`@`host` in CREATE statements and in mariadb-dump's versioned comments.
const DEFINER = /DEFINER=`(?:[^`]|``)*`@`(?:[^`]|``)*`/g;

/**
 * Rewrites every DEFINER clause to CURRENT_USER, line by line, leaving data
 * lines (INSERT) untouched. Memory stays bounded by the longest line, which
 * mariadb-dump caps at its net buffer length.
 */
export function definerRewriter(): Transform {
  let carry = '';
  const rewrite = (line: string) => (line.startsWith('INSERT INTO') ? line : line.replace(DEFINER, 'DEFINER=CURRENT_USER'));
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      const text = carry + chunk.toString('utf8');
      const cut = text.lastIndexOf('\n');
      if (cut < 0) {
        carry = text;
        return done();
      }
      carry = text.slice(cut + 1);
      done(null, text.slice(0, cut + 1).split('\n').map(rewrite).join('\n'));
    },
    flush(done) {
      done(null, rewrite(carry));
    },
  });
}
