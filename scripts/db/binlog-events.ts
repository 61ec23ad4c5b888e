import type { Server } from './connection.js';
import { comparePositions, type BinlogPosition } from './replica-status.js';

interface BinlogEvent {
  Log_name: string;
  Pos: number;
  Event_type: string;
  End_log_pos: number;
  Info: string;
}

const PAGE = 200;

/**
 * Where the first statement matching `statement` after `from` ends, reading the server's
 * binlog up to `head`: the exact point after one's own statement, however many
 * others were written right after it. Undefined if there is none.
 */
export async function endOfFirstStatement(
  server: Server,
  from: BinlogPosition,
  head: BinlogPosition,
  statement: RegExp,
): Promise<BinlogPosition | undefined> {
  const files = (await server.query<{ Log_name: string }>('SHOW BINARY LOGS'))
    .map((l) => l.Log_name)
    .filter((f) => f >= from.file && f <= head.file);
  for (const file of files) {
    let pos = file === from.file ? from.pos : 4;
    for (;;) {
      const events = await server.query<BinlogEvent & Record<string, unknown>>(
        `SHOW BINLOG EVENTS IN ? FROM ${Number(pos)} LIMIT ${PAGE}`,
        [file],
      );
      for (const e of events) {
        if (comparePositions({ file, pos: Number(e.Pos) }, head) >= 0) return undefined;
        if (e.Event_type === 'Query' && statement.test(String(e.Info))) return { file, pos: Number(e.End_log_pos) };
      }
      if (events.length < PAGE) break;
      pos = Number(events[events.length - 1]!.End_log_pos);
    }
  }
  return undefined;
}
