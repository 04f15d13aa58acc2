/**
 * A local HTTP server for web hook tests (127.0.0.1, a free port): it records every POSTed
 * JSON body and its headers, counts the TCP connections it accepts, and answers at once or,
 * with `answer` false, holds the requests (a slow server).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HookServer {
  server: Server;
  /** http://127.0.0.1:<port>/webhook */
  url: string;
  bodies: Record<string, any>[]; // eslint-disable-line @typescript-eslint/no-explicit-any
  headers: IncomingMessage['headers'][];
  /** TCP connections accepted so far */
  connections: number;
  /** answer requests (false: hold them) */
  answer: boolean;
  held: ServerResponse[];
}

export async function startHookServer(): Promise<HookServer> {
  const h: HookServer = { server: undefined as unknown as Server, url: '', bodies: [], headers: [], connections: 0, answer: true, held: [] };
  h.server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      h.bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      h.headers.push(req.headers);
      if (h.answer) res.end('ok');
      else h.held.push(res);
    });
  });
  h.server.on('connection', () => h.connections++);
  await new Promise<void>((r) => h.server.listen(0, '127.0.0.1', r));
  h.url = `http://127.0.0.1:${(h.server.address() as AddressInfo).port}/webhook`;
  return h;
}

export function closeHookServer(h: HookServer): Promise<void> {
  for (const r of h.held) r.destroy();
  h.server.closeAllConnections();
  return new Promise((r) => h.server.close(() => r()));
}
