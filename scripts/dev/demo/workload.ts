import mysql, { type Connection } from 'mysql2/promise';
import type { Endpoint } from '../../db/connection.js';
import { DEMO_DATABASE } from './schema.js';
import { setTimeout as delay } from 'node:timers/promises';

export interface WorkloadResult {
  writers: number;
  committed: number;
  failed: number;
  /** The longest time between two consecutive commits of any writer: how long writes were impossible. */
  longestWriteGapMs: number;
  acknowledged: { writer: number; seq: number }[];
}

/**
 * The application: writers that keep committing small transactions (an insert
 * the demo can check for, an account update and now and then an order that
 * fires the trigger) until stopped. A write counts only when COMMIT returned OK.
 */
export class Workload {
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly acknowledged: { writer: number; seq: number }[] = [];
  private failed = 0;
  private lastCommit = 0;
  private longestGap = 0;

  constructor(
    private endpoint: Endpoint,
    private readonly credentials: { user: string; password: string },
    private readonly writers = 4,
    private readonly pauseMs = 5,
  ) {}

  /** Moves the writers to another server (the cutover's traffic switch). */
  switchTo(endpoint: Endpoint): void {
    this.endpoint = endpoint;
  }

  start(): void {
    this.running = true;
    this.lastCommit = Date.now();
    this.loops = Array.from({ length: this.writers }, (_, i) => this.writerLoop(i + 1));
  }

  async stop(): Promise<WorkloadResult> {
    this.running = false;
    await Promise.all(this.loops);
    return {
      writers: this.writers,
      committed: this.acknowledged.length,
      failed: this.failed,
      longestWriteGapMs: this.longestGap,
      acknowledged: this.acknowledged,
    };
  }

  get committed(): number {
    return this.acknowledged.length;
  }

  private async connect(): Promise<Connection> {
    return mysql.createConnection({
      host: this.endpoint.host,
      port: this.endpoint.port,
      user: this.credentials.user,
      password: this.credentials.password,
      database: DEMO_DATABASE,
      connectTimeout: 2000,
    });
  }

  private async writerLoop(writer: number): Promise<void> {
    let connection: Connection | undefined;
    let connectedTo: Endpoint | undefined;
    let seq = 0;
    while (this.running) {
      try {
        if (!connection || connectedTo !== this.endpoint) {
          await connection?.end().catch(() => undefined);
          connectedTo = this.endpoint;
          connection = await this.connect();
        }
        seq += 1;
        await connection.beginTransaction();
        await connection.query('INSERT INTO workload_writes (writer, seq, payload) VALUES (?, ?, ?)', [
          writer,
          seq,
          `writer ${writer} write ${seq} ✓`,
        ]);
        await connection.query('UPDATE accounts SET balance = balance + 1 WHERE id = ?', [1 + ((writer * 7 + seq) % 100)]);
        if (seq % 10 === 0) {
          const [res] = await connection.query('INSERT INTO orders (customer_id, total, note) VALUES (?, ?, ?)', [
            1 + (seq % 10),
            seq % 1000,
            `live order ${writer}/${seq}`,
          ]);
          await connection.query('CALL pay_order(?)', [(res as { insertId: number }).insertId]);
        }
        await connection.commit();
        const now = Date.now();
        this.longestGap = Math.max(this.longestGap, now - this.lastCommit);
        this.lastCommit = now;
        this.acknowledged.push({ writer, seq });
      } catch {
        this.failed += 1;
        await connection?.end().catch(() => connection?.destroy());
        connection = undefined;
        await delay(20);
      }
      await delay(this.pauseMs);
    }
    await connection?.end().catch(() => connection?.destroy());
  }
}
