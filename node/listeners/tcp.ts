import { createServer } from 'node:net';
import type { Broker } from '../broker.js';
import { Listener, peerAddress } from './listener.js';

/** MQTT over TCP (mqtt:tcp). */
export function tcpListener(broker: Broker, bind: string, port: number, maxConns: number): Listener {
  const server = createServer({ noDelay: true });
  const listener = new Listener(broker, 'mqtt:tcp', server, bind, port, maxConns);
  server.on('connection', (socket) => listener.accept(socket, peerAddress(socket.remoteAddress), socket.remotePort ?? 0));
  return listener;
}
