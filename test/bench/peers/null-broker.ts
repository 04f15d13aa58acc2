/**
 * "Null broker": answers CONNECT and SUBSCRIBE, then relays bytes without parsing them.
 * Once a client sends its first PUBLISH, everything it sends from there on is written
 * verbatim to the subscribers of that topic, and whatever a subscriber sends (PUBACKs)
 * goes verbatim back to that topic's publisher. The bench's topics are pairwise (or one
 * topic for fan-out), so this is a correct relay for it at almost no CPU cost: whatever
 * rate the load generator reaches through it is the generator's own ceiling.
 */
import net from 'node:net';

const port = Number(process.env.BENCH_PORT);
if (!port) throw new Error('BENCH_PORT not set');

const subsByTopic = new Map<string, net.Socket[]>();
const pubByTopic = new Map<string, net.Socket>();
const CONNACK = Buffer.from([0x20, 0x02, 0x00, 0x00]);
const PINGRESP = Buffer.from([0xd0, 0x00]);

function readTopic(buf: Buffer, off: number): string {
  const len = buf.readUInt16BE(off);
  return buf.toString('utf8', off + 2, off + 2 + len);
}

net
  .createServer((sock) => {
    sock.setNoDelay(true);
    sock.on('error', () => {});
    let pending: Buffer = Buffer.alloc(0);
    let relay: ((chunk: Buffer) => void) | null = null;

    const startPublisherRelay = (topic: string): ((chunk: Buffer) => void) => {
      pubByTopic.set(topic, sock);
      const targets = subsByTopic.get(topic) ?? [];
      let blocked = 0;
      const unblock = () => {
        if (--blocked === 0) sock.resume();
      };
      // Backpressure: pause the publisher until every subscriber socket has drained.
      return (chunk) => {
        for (const t of targets) {
          if (!t.write(chunk)) {
            blocked++;
            t.once('drain', unblock);
          }
        }
        if (blocked > 0) sock.pause();
      };
    };

    const startSubscriberRelay = (topic: string): ((chunk: Buffer) => void) => (chunk) => {
      pubByTopic.get(topic)?.write(chunk);
    };

    sock.on('data', (chunk: Buffer) => {
      if (relay) return relay(chunk);
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      let off = 0;
      while (off < pending.length) {
        // Fixed header: type byte + remaining-length varint.
        let i = off + 1;
        let rl = 0;
        let mult = 1;
        let complete = false;
        for (; i < pending.length && i <= off + 4; i++) {
          rl += (pending[i]! & 0x7f) * mult;
          mult *= 128;
          if ((pending[i]! & 0x80) === 0) {
            complete = true;
            break;
          }
        }
        if (!complete || i + 1 + rl > pending.length) break;
        const body = i + 1;
        const end = body + rl;
        const type = pending[off]! >> 4;
        if (type === 1) {
          sock.write(CONNACK);
        } else if (type === 8) {
          // SUBSCRIBE: id(2), then one topic filter + options byte.
          const id = pending.readUInt16BE(body);
          const topic = readTopic(pending, body + 2);
          const qos = pending[body + 2 + 2 + Buffer.byteLength(topic)]! & 3;
          const list = subsByTopic.get(topic) ?? [];
          list.push(sock);
          subsByTopic.set(topic, list);
          sock.write(Buffer.from([0x90, 0x03, id >> 8, id & 0xff, qos]));
          relay = startSubscriberRelay(topic);
          const rest = pending.subarray(end);
          if (rest.length) relay(rest);
          return;
        } else if (type === 3) {
          relay = startPublisherRelay(readTopic(pending, body));
          relay(pending.subarray(off));
          return;
        } else if (type === 12) {
          sock.write(PINGRESP);
        } else if (type === 14) {
          sock.end();
          return;
        }
        off = end;
      }
      pending = pending.subarray(off);
    });
  })
  .listen(port, '127.0.0.1');

process.on('SIGTERM', () => process.exit(0));
