#!/usr/bin/env node
// Container health check (the image's HEALTHCHECK): exit 0 when healthy, 1 otherwise.
//   node deploy/healthcheck.mjs node      a TCP connect to the node's MQTT port
//   node deploy/healthcheck.mjs gateway   GET /status on the gateway's API port answers 200
// Without an argument the role is read from the container's main process (PID 1 runs
// dist/gateway/main.js or dist/node/main.js). A node is not sent an MQTT CONNECT: one
// every few seconds would show up as a client in the API, the metrics and $SYS events.
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';

const TIMEOUT_MS = 3000;
const role = process.argv[2] ?? (safeRead('/proc/1/cmdline').includes('gateway/main.js') ? 'gateway' : 'node');

function safeRead(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function fail(why) {
  process.stderr.write(`unhealthy: ${why}\n`);
  process.exit(1);
}

if (role === 'gateway') {
  const port = process.env.STARLING_API_PORT || '8081';
  // with a certificate and no HTTPS port of its own, the API port speaks HTTPS; its name is
  // not 127.0.0.1's, and this checks liveness, not identity
  const https = process.env.STARLING_API_TLS_CERT && process.env.STARLING_API_TLS_KEY && Number(process.env.STARLING_API_TLS_PORT || -1) < 0;
  try {
    const { status, text } = await getStatus(port, Boolean(https));
    if (status !== 200) fail(`GET /status answered ${status}: ${text.trim()}`);
  } catch (err) {
    fail(`GET /status on port ${port}: ${err.message}`);
  }
} else if (role === 'node') {
  const port = Number(process.env.STARLING_MQTT_PORT || 1883);
  const sock = connect({ host: '127.0.0.1', port, timeout: TIMEOUT_MS });
  sock.once('connect', () => {
    sock.destroy();
    process.exit(0);
  });
  sock.once('timeout', () => fail(`MQTT port ${port}: no answer within ${TIMEOUT_MS} ms`));
  sock.once('error', (err) => fail(`MQTT port ${port}: ${err.message}`));
} else {
  fail(`unknown role ${role} (node or gateway)`);
}

function getStatus(port, https) {
  return new Promise((resolve, reject) => {
    const get = https ? httpsGet : httpGet;
    const req = get({ host: '127.0.0.1', port, path: '/status', timeout: TIMEOUT_MS, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.on('error', reject);
  });
}
