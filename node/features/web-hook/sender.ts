import http from 'node:http';
import https from 'node:https';
import type { Logger } from '../../../shared/logger.js';
import type { WebHookSettings } from './settings.js';

/** At most one warning per this long; the counts since the last one go with it. */
const LOG_EVERY_MS = 10_000;

export interface SenderCounts {
  /** answered 2xx */
  sent: number;
  /** answered otherwise, failed or timed out */
  failed: number;
  /** never sent: the queue was full */
  dropped: number;
}

/**
 * POSTs event bodies to the web hook's URL off the publish path: send() only queues and,
 * once per I/O turn, schedules the pump. At most `poolSize` requests are in flight, over a
 * keep-alive agent with that many sockets, so a burst reuses connections instead of opening
 * one per event. Past `maxQueue` waiting bodies new ones are dropped and counted: a slow or
 * dead server costs memory up to that bound and nothing else.
 */
export class WebHookSender {
  readonly counts: SenderCounts = { sent: 0, failed: 0, dropped: 0 };
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly headers: Record<string, string>;
  /** a FIFO as an array and a head index (shift() is O(n) on long arrays) */
  private queue: string[] = [];
  private head = 0;
  private inFlight = 0;
  private scheduled = false;
  private closed = false;
  private lastLog = 0;
  private unlogged = { failed: 0, dropped: 0 };
  private lastError = '';

  constructor(
    private readonly s: WebHookSettings,
    private readonly log: Logger,
  ) {
    const tls = s.url.protocol === 'https:';
    const opts = { keepAlive: true, maxSockets: s.poolSize, maxFreeSockets: s.poolSize };
    this.agent = tls ? new https.Agent(opts) : new http.Agent(opts);
    this.request = tls ? https.request : http.request;
    this.headers = { ...s.headers, 'content-type': 'application/json' };
  }

  /** Bodies waiting for a connection. */
  get queued(): number {
    return this.queue.length - this.head;
  }

  send(body: string): void {
    if (this.closed) return;
    // what the free connections will take at the next pump does not count against the bound
    if (this.queued >= this.s.maxQueue + this.s.poolSize - this.inFlight) {
      this.counts.dropped++;
      this.unlogged.dropped++;
      this.warn();
      return;
    }
    this.queue.push(body);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.pump);
    }
  }

  /** Stops: queued bodies are dropped, requests in flight and idle sockets are closed. */
  close(): void {
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.agent.destroy();
  }

  private readonly pump = (): void => {
    this.scheduled = false;
    while (!this.closed && this.inFlight < this.s.poolSize && this.head < this.queue.length) {
      const body = this.queue[this.head]!;
      this.queue[this.head++] = '';
      this.post(body, true);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  };

  private post(body: string, mayRetry: boolean): void {
    this.inFlight++;
    let done = false;
    const finish = (ok: boolean, why?: string): void => {
      if (done) return;
      done = true;
      this.inFlight--;
      if (ok) this.counts.sent++;
      else {
        this.counts.failed++;
        this.unlogged.failed++;
        this.lastError = why ?? '';
        this.warn();
      }
      if (!this.closed && this.head < this.queue.length && !this.scheduled) {
        this.scheduled = true;
        setImmediate(this.pump);
      }
    };
    const req = this.request(this.s.url, { method: 'POST', agent: this.agent, headers: { ...this.headers, 'content-length': Buffer.byteLength(body) }, timeout: this.s.timeoutMs }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      res.on('end', () => finish(status >= 200 && status < 300, `HTTP ${status}`));
      res.on('error', (err) => finish(false, err.message));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${this.s.timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (done || this.closed) return;
      // a kept-alive socket the server closed meanwhile: the request never reached it, send once more
      if (mayRetry && req.reusedSocket && err.code === 'ECONNRESET') {
        done = true;
        this.inFlight--;
        this.post(body, false);
        return;
      }
      finish(false, err.message);
    });
    req.end(body);
  }

  /** Rate-limited: a dead server must not flood the log. */
  private warn(): void {
    const now = Date.now();
    if (now - this.lastLog < LOG_EVERY_MS) return;
    this.lastLog = now;
    this.log.warn({ url: this.s.url.href, failed: this.unlogged.failed, dropped: this.unlogged.dropped, error: this.lastError || undefined }, 'web hook requests failed or dropped');
    this.unlogged = { failed: 0, dropped: 0 };
  }
}
