import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the sink received. */
export interface SunkRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * A local HTTP server for web hook tests: records every request, counts the TCP
 * connections it accepted (what connection reuse is measured by), answers `status`.
 */
export interface HttpSink {
  readonly url: string;
  readonly port: number;
  readonly requests: SunkRequest[];
  /** TCP connections accepted since start */
  readonly connections: number;
  status: number;
  close(): Promise<void>;
}

export async function startHttpSink(port = 0): Promise<HttpSink> {
  const requests: SunkRequest[] = [];
  let connections = 0;
  const sink = {
    url: '',
    port: 0,
    requests,
    get connections() {
      return connections;
    },
    status: 200,
    close: (): Promise<void> =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.statusCode = sink.status;
      res.end('ok');
    });
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  sink.port = (server.address() as AddressInfo).port;
  sink.url = `http://127.0.0.1:${sink.port}`;
  return sink;
}
