import { createConnection, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback that a test can cut and heal, standing for the network
 * between two servers. Bytes from the upstream server are counted, and forwarding
 * can be held after a number of them, so a test can cut a link in the middle of
 * a transfer it knows is under way.
 */
export interface TcpProxy {
  port: number;
  /** Bytes forwarded from upstream to clients so far. */
  readonly downstreamBytes: number;
  /** Stops reading from upstream once `bytes` more have been forwarded; resolves when that happened. */
  holdAfter(bytes: number): Promise<void>;
  /** Drops every connection and refuses new ones until heal(). */
  cut(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(upstreamPort: number, upstreamHost = '127.0.0.1'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const upstreams = new Set<Socket>();
  let isCut = false;
  let downstreamBytes = 0;
  let hold: { at: number; reached: () => void } | undefined;

  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = createServer((client) => {
    track(client);
    if (isCut) return void client.destroy();
    const upstream = createConnection({ host: upstreamHost, port: upstreamPort });
    track(upstream);
    upstreams.add(upstream);
    upstream.on('close', () => upstreams.delete(upstream));
    upstream.on('data', (chunk: Buffer) => {
      downstreamBytes += chunk.length;
      client.write(chunk);
      if (hold && downstreamBytes >= hold.at) {
        for (const u of upstreams) u.pause();
        hold.reached();
        hold = undefined;
      }
    });
    client.on('data', (chunk: Buffer) => upstream.write(chunk));
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };

  return {
    port,
    get downstreamBytes() {
      return downstreamBytes;
    },
    holdAfter(bytes) {
      return new Promise((reached) => (hold = { at: downstreamBytes + bytes, reached }));
    },
    cut() {
      isCut = true;
      for (const s of sockets) s.destroy();
    },
    heal() {
      isCut = false;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
    },
  };
}
