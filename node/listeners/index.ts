import type { Config } from '../../shared/config.js';
import type { Accept } from '../core/ports.js';
import type { Listener } from './listener.js';
import { tcpListener } from './tcp.js';
import { tlsListener } from './tls.js';
import { wsListener } from './ws.js';

export { Listener, peerAddress, type ListenerInfo } from './listener.js';

/** The configured listeners (a negative port turns one off; TLS needs a certificate and key), not yet started. */
export function configuredListeners(c: Config, accept: Accept): Listener[] {
  const out: Listener[] = [];
  const limits = { maxConns: c.maxConns, maxConnRate: c.maxConnRate, maxConnRatePerIp: c.maxConnRatePerIp, idleTimeoutMs: c.idleTimeoutMs };
  if (c.mqttPort >= 0) out.push(tcpListener(accept, c.bind, c.mqttPort, limits));
  if (c.wsPort >= 0) out.push(wsListener(accept, c.bind, c.wsPort, limits, c.wsPath, c.maxPacketSize));
  if (c.tlsCert && c.tlsKey && c.mqttsPort >= 0) out.push(tlsListener(accept, c.bind, c.mqttsPort, limits, c));
  return out;
}
