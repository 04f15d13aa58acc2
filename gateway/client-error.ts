/**
 * What Node's HTTP parser refuses before the app sees a request (a request line or headers
 * past its 16 KB, a malformed request, a request that takes too long to arrive), answered
 * as the API answers, in JSON with a result code, instead of Node's bare status line.
 */
import type { Socket } from 'node:net';
import { CODE } from '../shared/result-codes.js';

const STATUS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

export function onClientError(err: Error & { code?: string; rawPacket?: Buffer }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
  const [status, reason] = STATUS[err.code ?? ''] ?? [400, 'Bad Request'];
  const body = JSON.stringify({ code: CODE.BAD_PARAM, message: reason.toLowerCase() });
  // the answer to a HEAD has the length of its body but not the body
  const head = err.rawPacket?.subarray(0, 5).toString('latin1') === 'HEAD ';
  socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${head ? '' : body}`);
}
