import { readFileSync } from 'node:fs';
import { createServer } from 'node:tls';
import type { Accept } from '../core/ports.js';
import { Listener, peerAddress, type AcceptLimits } from './listener.js';

/** MQTT over TLS (mqtt:ssl), with the configured PEM certificate and key. */
export function tlsListener(accept: Accept, bind: string, port: number, limits: AcceptLimits, certFile: string, keyFile: string): Listener {
  const server = createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) });
  const listener = new Listener(accept, 'mqtt:ssl', server, bind, port, limits);
  server.on('secureConnection', (socket) => {
    socket.setNoDelay(true);
    listener.accept(socket, peerAddress(socket.remoteAddress), socket.remotePort ?? 0);
  });
  // a failed handshake is the peer's problem, not the process's
  server.on('tlsClientError', () => {});
  return listener;
}
