import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP relay on 127.0.0.1 in front of a port, whose connections a test can cut: one
 * client's link to a server drops while everyone else's stays up (a process cannot be made
 * to lose just one of its connections otherwise).
 */
export interface TcpProxy {
  readonly port: number;
  /** destroys every connection made through the relay so far; new ones are relayed again */
  cut(): void;
  /** from now on, what the server sends on the connections made so far is thrown away (what they send still reaches it) */
  mute(): void;
  /** while true, a connection made through the relay is closed at once (the server out of reach) */
  refusing: boolean;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const open = new Set<Socket>();
  /** the server's side of each relayed connection, with its client's */
  const upstreams = new Map<Socket, Socket>();
  const server = createServer((client) => {
    if (proxy.refusing) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    upstreams.set(upstream, client);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        open.delete(s);
        upstreams.delete(upstream);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const addr = server.address();
  if (!addr || typeof addr === 'string') throw new Error('proxy has no TCP address');
  const cut = () => {
    for (const s of open) s.destroy();
  };
  const proxy: TcpProxy = {
    port: addr.port,
    cut,
    mute() {
      for (const [upstream, client] of upstreams) {
        upstream.unpipe(client);
        upstream.on('data', () => {});
        upstream.resume();
      }
    },
    refusing: false,
    close() {
      cut();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return proxy;
}
