import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { badParam } from '../../../shared/api/query-schema.js';
import type { Logger } from '../../../shared/logger.js';
import type { ParamsSchema, ResourceInstance, ResourceType } from '../contracts.js';
import { checkSchema, durationMs } from '../params-check.js';

/**
 * EMQX's `web_hook` resource type (emqx_web_hook_actions): an HTTP server the
 * data_to_webserver action sends to. Each node's instance is a keep-alive agent of at most
 * `pool_size` sockets, so a burst reuses connections instead of opening one per message;
 * its health is a TCP connect to the URL's host and port, as EMQX checks it.
 */

const text = (en: string, zh: string = en) => ({ en, zh });

/** The params as EMQX 4.x declares them (4.2's method, headers and content_type kept: the spec's example uses them). */
const WEB_HOOK_PARAMS: ParamsSchema = {
  url: { type: 'string', required: true, title: text('Request URL', '请求 URL'), description: text('The URL of the server that will receive the Webhook requests.', '用于接收 Webhook 请求的服务器的 URL。') },
  method: { type: 'string', enum: ['PUT', 'POST'], default: 'POST', title: text('Request Method', '请求方法'), description: text('Request Method', '请求方法') },
  headers: { type: 'object', schema: {}, default: {}, title: text('Request Header', '请求头'), description: text('Request Header', '请求头') },
  content_type: { type: 'string', enum: ['application/json', 'text/plain;charset=UTF-8'], default: 'application/json', title: text('Content-Type'), description: text('The Content-Type of HTTP Request', 'HTTP 请求头中的 Content-Type 字段值') },
  connect_timeout: { type: 'string', default: '5s', title: text('Connect Timeout', '连接超时时间'), description: text('Connect Timeout In Seconds', '连接超时时间') },
  request_timeout: { type: 'string', default: '5s', title: text('Request Timeout', '请求超时时间'), description: text('Request Timeout In Seconds', '请求超时时间') },
  pool_size: { type: 'number', default: 8, title: text('Pool Size', '连接池大小'), description: text('Connection Pool', '连接池大小') },
  enable_pipelining: { type: 'boolean', default: true, title: text('Enable Pipelining', '开启 Pipelining'), description: text('Whether to enable HTTP Pipelining', '是否开启 HTTP Pipelining') },
  verify: { type: 'boolean', default: false, title: text('Verify Server Certfile', '校验服务器证书'), description: text('Whether to verify the server certificate (https).', '是否校验服务器证书 (https)。') },
};

/** A health check answers within this, whatever connect_timeout says: it runs inside an API request. */
const HEALTH_CHECK_MAX_MS = 800;

/** What a web_hook resource's config becomes once checked. */
export interface WebHookConfig {
  url: URL;
  method: string;
  headers: Record<string, string>;
  contentType: string;
  connectTimeoutMs: number;
  requestTimeoutMs: number;
  poolSize: number;
  verify: boolean;
}

export function webHookConfig(config: Record<string, unknown>): WebHookConfig {
  const c = checkSchema(WEB_HOOK_PARAMS, config);
  let url: URL;
  try {
    url = new URL(c.url as string);
  } catch {
    throw badParam('config.url', `${JSON.stringify(c.url)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw badParam('config.url', 'must be an http or https URL');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.headers as Record<string, unknown>)) {
    if (typeof v !== 'string') throw badParam(`config.headers.${k}`, 'must be a string');
    headers[k.toLowerCase()] = v;
  }
  const poolSize = c.pool_size as number;
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1024) throw badParam('config.pool_size', 'must be an integer from 1 to 1024');
  return {
    url,
    method: c.method as string,
    headers,
    contentType: c.content_type as string,
    connectTimeoutMs: durationMs(c.connect_timeout, 'config.connect_timeout'),
    requestTimeoutMs: durationMs(c.request_timeout, 'config.request_timeout'),
    poolSize,
    verify: c.verify as boolean,
  };
}

/** One HTTP answer: its status (a 2xx is a success). */
export interface WebHookAnswer {
  status: number;
}

/**
 * Requests a resource lets wait for one of its `pool_size` connections, per connection:
 * past it a request fails at once (the action counts it as failed) instead of queueing
 * without bound behind a slow server while the publishers go on.
 */
const MAX_WAITING_PER_CONNECTION = 256;

/** A web_hook resource on one node: the pooled connections to its server. */
export class WebHookResource implements ResourceInstance {
  closed = false;
  /** requests sent and not yet answered */
  private pending = 0;
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;

  constructor(readonly cfg: WebHookConfig) {
    const tls = cfg.url.protocol === 'https:';
    const opts = { keepAlive: true, maxSockets: cfg.poolSize, maxFreeSockets: cfg.poolSize, timeout: cfg.requestTimeoutMs };
    this.agent = tls ? new https.Agent({ ...opts, rejectUnauthorized: cfg.verify }) : new http.Agent(opts);
    this.request = tls ? https.request : http.request;
  }

  /** The URL's path joined with `path` (EMQX's merge_path: one slash between), the URL's query kept. */
  pathOf(path: string): string {
    const base = this.cfg.url.pathname;
    const joined = path === '' ? base : `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
    return joined + this.cfg.url.search;
  }

  /** Sends one request over the pool; rejects on a connection error or the request timeout. */
  send(method: string, path: string, headers: Record<string, string>, body: string | undefined): Promise<WebHookAnswer> {
    if (this.closed) return Promise.reject(new Error('resource closed'));
    if (this.pending >= this.cfg.poolSize * MAX_WAITING_PER_CONNECTION) {
      return Promise.reject(new Error(`overloaded: ${this.pending} requests waiting for ${this.cfg.poolSize} connections`));
    }
    this.pending++;
    const settled = (): void => {
      this.pending--;
    };
    const sent = new Promise<WebHookAnswer>((resolve, reject) => {
      const u = this.cfg.url;
      const req = this.request(
        { agent: this.agent, method, host: u.hostname, port: u.port || undefined, path, headers: body === undefined ? headers : { ...headers, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
          res.on('error', reject);
        },
      );
      req.setTimeout(this.cfg.requestTimeoutMs, () => req.destroy(new Error(`request timeout after ${this.cfg.requestTimeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
    sent.then(settled, settled);
    return sent;
  }

  /** A TCP connect to the server, as EMQX's web_hook status does. */
  healthCheck(): Promise<boolean> {
    const u = this.cfg.url;
    const port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80);
    const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    return new Promise((resolve) => {
      const sock = net.connect({ host, port });
      const done = (alive: boolean): void => {
        sock.destroy();
        resolve(alive);
      };
      sock.setTimeout(Math.min(this.cfg.connectTimeoutMs, HEALTH_CHECK_MAX_MS), () => done(false));
      sock.once('connect', () => done(true));
      sock.once('error', () => done(false));
    });
  }

  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}

export const webHookResourceType: ResourceType = {
  name: 'web_hook',
  provider: 'emqx_web_hook',
  title: text('WebHook'),
  description: text('WebHook'),
  params: WEB_HOOK_PARAMS,
  create: (config: Record<string, unknown>, _log: Logger) => new WebHookResource(webHookConfig(config)),
};
