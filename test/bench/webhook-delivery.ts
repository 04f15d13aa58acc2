/**
 * Rule-to-webhook delivery, the action half: messages/s through the data_to_webserver
 * action (node/rules/actions/data-to-webserver.ts) over a web_hook resource instance to a
 * local HTTP server, and the TCP connections the server saw opened (connection reuse: at
 * most pool_size however many messages). Drives the action instance directly with a
 * window of events in flight, as the rule engine fires them; once the engine is merged the
 * bench wires a real rule (SELECT ... FROM "t/#" → data_to_webserver) in front of it.
 * Standalone: `node dist/test/bench/webhook-delivery.js [messages] [pool_size] [window]`.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
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

export async function runWebhookDelivery(opts: { messages?: number; poolSize?: number; window?: number } = {}): Promise<WebhookDeliveryResult> {
  const messages = opts.messages ?? 50_000;
  const poolSize = opts.poolSize ?? 8;
  const window = opts.window ?? 256;
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
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
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
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
  if (received + failed !== messages) throw new Error(`server received ${received} of ${messages} (${failed} failed)`);
  return { messages, messagesPerSec: Math.round(messages / seconds), connectionsOpened: connections, poolSize, failed };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [messages, poolSize, window] = process.argv.slice(2).map(Number);
  const r = await runWebhookDelivery({ messages: messages || undefined, poolSize: poolSize || undefined, window: window || undefined });
  console.log(JSON.stringify(r));
}
