// The forward frame format (docs/forwarding.md, "Wire format"): every target shape and
// payload round-trips through writeEntry() and readFrame(), within entryBound(), and frames
// the format does not make are refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage } from '../../shared/cluster/message-codec.js';
import { newMessage } from '../../shared/message.js';
import type { ForwardTarget } from '../../node/cluster/forwarding/transport.js';
import { ENTRY_HEADER, entryBound, readFrame, readU64, standaloneEntry, writeEntry, writeU64 } from '../../node/cluster/forwarding/wire.js';

const targets: ForwardTarget[] = [
  { kind: 'route' },
  { kind: 'route', filter: '' },
  { kind: 'route', filter: 'a/+/#' },
  { kind: 'shared', group: 'g' },
  { kind: 'shared', filter: 'ü/日本/🐦', group: 'grüppe' },
  { kind: 'session', clientid: 'c-ü1' },
];
const payloads = [new Uint8Array(0), new Uint8Array([0, 1, 255, 0x2e])];

describe('forward wire format', () => {
  for (const target of targets) {
    for (const payload of payloads) {
      it(`${JSON.stringify(target)} with ${payload.length} payload bytes round-trips`, () => {
        const bound = entryBound(target, payload);
        const out = Buffer.alloc(bound + 10, 0xaa);
        const end = writeEntry(out, 5, 2 ** 40 + 7, target, payload);
        assert.ok(end - 5 <= bound, `entry of ${end - 5} bytes within its bound ${bound}`);
        assert.equal(out.readUInt32BE(5), end - 5 - 4, 'the length covers seq and frame');
        assert.equal(readU64(out, 9), 2 ** 40 + 7);
        const frame = readFrame(out, 5 + ENTRY_HEADER, end);
        assert.deepEqual(frame.target, target);
        assert.deepEqual([...frame.encoded], [...payload]);
        assert.equal(frame.encoded.buffer, out.buffer, 'the message bytes are a view, not a copy');
      });
    }
  }

  it('a Message is encoded in place, as message-codec encodes it', () => {
    const msg = newMessage({ topic: 't/1', payload: Buffer.from('hi'), qos: 1, retain: false, from: 'c1' });
    const entry = standaloneEntry(3, { kind: 'route' }, msg);
    assert.equal(readU64(entry, 4), 3);
    const frame = readFrame(entry, ENTRY_HEADER, entry.length);
    const back = decodeMessage(frame.encoded);
    assert.equal(back.topic, 't/1');
    assert.deepEqual(Buffer.from(back.payload), Buffer.from('hi'));
  });

  it('a sequence number keeps its 53 bits', () => {
    const b = Buffer.alloc(8);
    for (const v of [0, 1, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      writeU64(b, 0, v);
      assert.equal(readU64(b, 0), v);
    }
  });

  it('refuses frames it did not make', () => {
    assert.throws(() => readFrame(Buffer.from([]), 0, 0), /empty forward frame/);
    assert.throws(() => readFrame(Buffer.from([16, 1]), 0, 2), /unknown forward frame flags 16/);
    assert.throws(() => readFrame(Buffer.from([8, 0, 0, 0, 9, 0x61]), 0, 6), /truncated forward frame/);
    // filter present, its length beyond the frame
    assert.throws(() => readFrame(Buffer.from([2, 0, 0, 0, 9, 0x61]), 0, 6), /truncated forward frame/);
    assert.throws(() => readFrame(Buffer.from([4, 0, 0]), 0, 3), /truncated forward frame/);
  });
});
