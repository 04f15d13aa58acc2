import { createServer } from 'node:net';
import type { Accept } from '../core/ports.js';
import { Listener, peerAddress, type AcceptLimits } from './listener.js';

/** MQTT over TCP (mqtt:tcp). */
export function tcpListener(accept: Accept, bind: string, port: number, limits: AcceptLimits): Listener {
  const server = createServer({ noDelay: true });
  const listener = new Listener(accept, 'mqtt:tcp', server, bind, port, limits);
  server.on('connection', (socket) => listener.accept(socket, peerAddress(socket.remoteAddress), socket.remotePort ?? 0));
  return listener;
}
