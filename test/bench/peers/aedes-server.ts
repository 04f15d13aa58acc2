/** Aedes with its defaults (in-memory persistence and emitter) on a plain TCP listener. */
import net from 'node:net';
import { Aedes } from 'aedes';

const port = Number(process.env.BENCH_PORT);
if (!port) throw new Error('BENCH_PORT not set');

const broker = await Aedes.createBroker();
// Client errors (resets when the bench tears connections down) are expected; keep quiet.
broker.on('clientError', () => {});
broker.on('connectionError', () => {});
const server = net.createServer(broker.handle);
server.listen(port, '127.0.0.1');

process.on('SIGTERM', () => process.exit(0));
