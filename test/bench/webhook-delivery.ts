/**
 * Rule-to-webhook delivery, the action half: messages/s through the data_to_webserver
 * action (node/rules/actions/data-to-webserver.ts) over a web_hook resource instance to a
 * local HTTP server, and the TCP connections the server saw opened (connection reuse: at
 * most pool_size however many messages). Drives the action instance directly with a
 * window of events in flight, as the rule engine fires them (the rules-webhook scenario,
 * scenarios/rules-webhook.ts, runs a real rule in front of it on a node, with this sink).
 * Standalone: `node dist/test/bench/webhook-delivery.js [messages] [pool_size] [window]`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fork } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { stopChild, track } from './procs.js';
import { createLogger } from '../../shared/logger.js';
import { dataToWebserverAction } from '../../node/rules/actions/data-to-webserver.js';
import type { ActionHost } from '../../node/rules/contracts.js';
import { webHookResourceType } from '../../node/rules/resource-types/web-hook.js';

export interface WebhookDeliveryResult {
  messages: number;
  messagesPerSec: number;
  /** TCP connections the server accepted during the run */
  connectionsOpened: number;
  poolSize: number;
  failed: number;
}

/** A local HTTP server answering every request at once, counting requests and the TCP connections it accepted. */
export interface CountingSink {
  url: string;
  received(): number;
  connections(): number;
  /** brings received() and connections() up to date (a sink in another process) */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

export async function startCountingSink(): Promise<CountingSink> {
  let connections = 0;
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received: () => received,
    connections: () => connections,
    refresh: () => Promise.resolve(),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function runWebhookDelivery(opts: { messages?: number; poolSize?: number; window?: number } = {}): Promise<WebhookDeliveryResult> {
  const messages = opts.messages ?? 50_000;
  const poolSize = opts.poolSize ?? 8;
  const window = opts.window ?? 256;
  const sink = await startCountingSink();
  const url = `${sink.url}/hook`;
  const log = createLogger('silent');
  const resource = webHookResourceType.create({ url, pool_size: poolSize }, log);
  const host: ActionHost = { nodeName: 'bench', publish() {}, dropIfUnrouted: () => false, resource: () => resource, log };
  const action = dataToWebserverAction.create({ $resource: 'resource:bench', path: '/${topic}', body: '{"clientid":"${clientid}","payload":${payload}}' }, host);
  let failed = 0;
  let next = 0;
  const started = process.hrtime.bigint();
  // `window` workers, each sending its next event as soon as the last one is answered
  await Promise.all(
    Array.from({ length: window }, async () => {
      while (next < messages) {
        const i = next++;
        try {
          await action.run({ clientid: `c${i % 100}`, topic: `t/${i % 10}`, payload: `{"n":${i}}` }, {});
        } catch {
          failed++;
        }
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await resource.close();
  await sink.close();
  const received = sink.received();
  if (received + failed !== messages) throw new Error(`server received ${received} of ${messages} (${failed} failed)`);
  return { messages, messagesPerSec: Math.round(messages / seconds), connectionsOpened: sink.connections(), poolSize, failed };
}

/**
 * The sink in a child process (the rules-webhook scenario: its publisher would starve a
 * sink sharing its event loop): it sends its URL, then answers each 'counts' message with
 * what it received and the connections it accepted.
 */
export async function forkCountingSink(): Promise<CountingSink> {
  const child = fork(fileURLToPath(import.meta.url), ['--sink'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  track(child);
  const next = <T>(): Promise<T> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the HTTP sink exited (${code})`));
      child.once('message', (m) => {
        child.off('exit', onExit);
        resolve(m as T);
      });
      child.once('exit', onExit);
    });
  const { url } = await next<{ url: string }>();
  let last = { received: 0, connections: 0 };
  return {
    url,
    // the last counts asked for (refresh() asks again)
    received: () => last.received,
    connections: () => last.connections,
    refresh: async () => {
      const answer = next<typeof last>();
      child.send('counts');
      last = await answer;
    },
    close: () => stopChild(child),
  };
}

if (process.argv[2] === '--sink') {
  const sink = await startCountingSink();
  process.send!({ url: sink.url });
  process.on('message', () => process.send!({ received: sink.received(), connections: sink.connections() }));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [messages, poolSize, window] = process.argv.slice(2).map(Number);
  const r = await runWebhookDelivery({ messages: messages || undefined, poolSize: poolSize || undefined, window: window || undefined });
  console.log(JSON.stringify(r));
}
