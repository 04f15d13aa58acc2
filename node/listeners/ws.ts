import { createServer } from 'node:http';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Accept } from '../core/ports.js';
import { Listener, peerAddress, type AcceptLimits } from './listener.js';

/** MQTT over WebSocket (mqtt:ws) on one path, with the `mqtt` subprotocol as MQTT requires [MQTT-6.0.0-3]. */
export function wsListener(accept: Accept, bind: string, port: number, limits: AcceptLimits, path: string, maxPacketSize: number): Listener {
  // an HTTP request or upgrade never finished (a slow-loris before MQTT) holds a socket no
  // longer than a missing CONNECT would; the check runs once a second, as the sweep does
  const timeout = Math.max(1, limits.idleTimeoutMs);
  const server = createServer({ headersTimeout: timeout, requestTimeout: timeout, connectionsCheckingInterval: Math.min(1000, timeout) }, (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: connect with the mqtt subprotocol\n');
  });
  const listener = new Listener(accept, 'mqtt:ws', server, bind, port, limits);
  listener.admitOnConnection();
  const wss = new WebSocketServer({
    server,
    path,
    perMessageDeflate: false,
    maxPayload: maxPacketSize + 8,
    handleProtocols: (protocols) => {
      for (const p of ['mqtt', 'mqttv3.1', 'mqttv3.1.1']) if (protocols.has(p)) return p;
      return false;
    },
  });
  wss.on('connection', (ws, req) => {
    req.socket.setNoDelay(true);
    const stream = createWebSocketStream(ws);
    // The stream only ends its readable side when the peer closes the WebSocket (or drops
    // the TCP connection) first, and never emits 'close' then: end it here, so the
    // connection is closed (and a will published) as for a TCP peer.
    stream.on('end', () => stream.destroy());
    listener.accept(stream, peerAddress(req.socket.remoteAddress), req.socket.remotePort ?? 0, true);
  });
  wss.on('error', () => {});
  return listener;
}
