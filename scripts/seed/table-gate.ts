/**
 * Loads into a table may run side by side; clearing rows of that table (a
 * range DELETE) waits until no load into it is in flight and holds new loads
 * back while it runs. A range DELETE beside a LOAD DATA into the same table
 * has left both stuck on the server for good.
 */
export class TableGate {
  private loads = 0;
  private clearing = false;
  private clearsWaiting = 0;
  private waiters: (() => void)[] = [];

  async load<T>(work: () => Promise<T>): Promise<T> {
    while (this.clearing || this.clearsWaiting > 0) await this.wait();
    this.loads += 1;
    try {
      return await work();
    } finally {
      this.loads -= 1;
      this.wake();
    }
  }

  async clear<T>(work: () => Promise<T>): Promise<T> {
    this.clearsWaiting += 1;
    try {
      while (this.clearing || this.loads > 0) await this.wait();
    } finally {
      this.clearsWaiting -= 1;
    }
    this.clearing = true;
    try {
      return await work();
    } finally {
      this.clearing = false;
      this.wake();
    }
  }

  private wait(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
