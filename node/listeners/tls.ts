import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';
import type { Accept } from '../core/ports.js';
import { Listener, peerAddress, type AcceptLimits } from './listener.js';

/** MQTT over TLS (mqtt:ssl), with the configured PEM certificate and key. */
export function tlsListener(accept: Accept, bind: string, port: number, limits: AcceptLimits, certFile: string, keyFile: string): Listener {
  // a handshake never finished (a slow-loris before MQTT) holds a socket no longer than a missing CONNECT would
  const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile), handshakeTimeout: limits.idleTimeoutMs });
  const listener = new Listener(accept, 'mqtt:ssl', server, bind, port, limits);
  listener.admitOnConnection();
  server.on('secureConnection', (socket) => {
    socket.setNoDelay(true);
    listener.accept(socket, peerAddress(socket.remoteAddress), socket.remotePort ?? 0, true);
  });
  // a failed handshake is the peer's problem, not the process's; with this listener Node
  // leaves its socket open (a handshake timeout among them), so it is closed here
  server.on('tlsClientError', (_err, socket) => socket.destroy());
  return listener;
}
