import { readFileSync } from 'node:fs';
import { createServer, type PeerCertificate } from 'node:tls';
import { ConfigError, type Config } from '../../shared/config.js';
import type { Accept } from '../core/ports.js';
import { Listener, peerAddress, type AcceptLimits } from './listener.js';

type TlsConfig = Pick<Config, 'tlsCert' | 'tlsKey' | 'tlsCa' | 'tlsVerifyPeer' | 'tlsFailIfNoPeerCert' | 'tlsPeerCertAsUsername'>;

/** The TLS listener's settings that go together; throws a ConfigError naming what is missing. */
export function checkTlsConfig(c: TlsConfig): void {
  if (Boolean(c.tlsCert) !== Boolean(c.tlsKey)) throw new ConfigError('the TLS listener needs both STARLING_TLS_CERT and STARLING_TLS_KEY');
  if (c.tlsVerifyPeer && !c.tlsCa) throw new ConfigError('STARLING_TLS_VERIFY_PEER needs STARLING_TLS_CA, the CAs client certificates are checked against');
}

/**
 * MQTT over TLS (mqtt:ssl), with the configured PEM certificate and key. With verify_peer it
 * asks for a client certificate and lets a connection through only when the certificate is
 * one the configured CAs signed, or when none was sent and that is allowed
 * (fail_if_no_peer_cert off); with peer_cert_as_username a verified certificate's subject
 * becomes the client's username.
 */
export function tlsListener(accept: Accept, bind: string, port: number, limits: AcceptLimits, c: TlsConfig): Listener {
  checkTlsConfig(c);
  const server = createServer({
    cert: readFileSync(c.tlsCert!),
    key: readFileSync(c.tlsKey!),
    // checked below rather than by rejectUnauthorized, which cannot let a certificate-less client in
    ...(c.tlsVerifyPeer ? { ca: readFileSync(c.tlsCa!), requestCert: true, rejectUnauthorized: false } : {}),
    // a handshake never finished (a slow-loris before MQTT) holds a socket no longer than a missing CONNECT would
    handshakeTimeout: limits.idleTimeoutMs,
  });
  const listener = new Listener(accept, 'mqtt:ssl', server, bind, port, limits);
  listener.admitOnConnection();
  server.on('secureConnection', (socket) => {
    let certUsername: string | undefined;
    if (c.tlsVerifyPeer) {
      const cert = socket.getPeerCertificate();
      const sent = cert !== null && Object.keys(cert).length > 0;
      if (!socket.authorized && (sent || c.tlsFailIfNoPeerCert)) return void socket.destroy();
      if (sent) certUsername = usernameOf(cert, c.tlsPeerCertAsUsername);
    }
    socket.setNoDelay(true);
    listener.accept(socket, peerAddress(socket.remoteAddress), socket.remotePort ?? 0, true, certUsername);
  });
  // a failed handshake is the peer's problem, not the process's; with this listener Node
  // leaves its socket open (a handshake timeout among them), so it is closed here
  server.on('tlsClientError', (_err, socket) => socket.destroy());
  return listener;
}

/** The username a verified certificate gives: its subject's CN, or the whole subject as `K=V,K=V`. */
function usernameOf(cert: PeerCertificate, as: TlsConfig['tlsPeerCertAsUsername']): string | undefined {
  const subject = cert.subject as unknown as Record<string, string | string[]> | undefined;
  if (as === 'none' || !subject) return undefined;
  if (as === 'cn') {
    const cn = subject.CN;
    return (Array.isArray(cn) ? cn[0] : cn) || undefined;
  }
  const dn = Object.entries(subject)
    .flatMap(([k, v]) => (Array.isArray(v) ? v : [v]).map((one) => `${k}=${one}`))
    .join(',');
  return dn || undefined;
}
