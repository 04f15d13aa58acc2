import { createServer, type Server } from 'node:net';

// Only ever 127.0.0.1: tests must not expose anything on other interfaces.
const HOST = '127.0.0.1';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen({ host: HOST, port, exclusive: true }, () => resolve(srv));
  });
}

function close(srv: Server): Promise<void> {
  return new Promise((resolve) => srv.close(() => resolve()));
}

function portOf(srv: Server): number {
  const addr = srv.address();
  if (!addr || typeof addr === 'string') throw new Error('server has no TCP address');
  return addr.port;
}

/** A port that is free on 127.0.0.1 right now (listen on :0, read it, close). */
export async function freePort(): Promise<number> {
  const srv = await listen(0);
  const port = portOf(srv);
  await close(srv);
  return port;
}

/** n distinct free ports; all listeners are held open together so the OS can't hand out one twice. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => listen(0)));
  const ports = servers.map(portOf);
  await Promise.all(servers.map(close));
  return ports;
}

/** True if nothing is listening on 127.0.0.1:port (we could bind it ourselves). */
export async function isPortFree(port: number): Promise<boolean> {
  try {
    await close(await listen(port));
    return true;
  } catch {
    return false;
  }
}
