/**
 * One HTTP(S) request with what fetch cannot set: the local address it comes from (another
 * 127.0.0.x, as another client) and the CA an https:// URL is checked against.
 */
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface CallOptions {
  method?: string;
  /** user:secret for Basic auth; unset: none */
  auth?: string;
  headers?: Record<string, string>;
  /** sent as JSON */
  body?: unknown;
  localAddress?: string;
  /** trusted for https:// (PEM) */
  ca?: Buffer;
}

export interface CallAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** parsed JSON, or the text when it is not JSON */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export function httpCall(url: string, o: CallOptions = {}): Promise<CallAnswer> {
  const headers: Record<string, string> = { ...o.headers };
  if (o.auth !== undefined) headers.authorization = `Basic ${Buffer.from(o.auth).toString('base64')}`;
  const body = o.body === undefined ? undefined : JSON.stringify(o.body);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      { method: o.method ?? 'GET', headers, agent: false, ...(o.localAddress ? { localAddress: o.localAddress } : {}), ...(o.ca ? { ca: o.ca } : {}) },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* text */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
