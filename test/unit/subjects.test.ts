import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forwardSubject } from '../../node/cluster/forwarding/subjects.js';
import { decodeNodeToken, encodeNodeToken, rpcSubject } from '../../shared/cluster/subjects.js';

// Only these may appear in a token: no '.', '*', '>', whitespace or anything else NATS minds.
const TOKEN = /^[A-Za-z0-9_~-]+$/;

describe('node subject tokens', () => {
  const cases: [name: string, token: string][] = [
    ['starling1', 'starling1'],
    ['starling@10.0.0.5', 'starling~4010~2e0~2e0~2e5'],
    ['emqx@host.example.com', 'emqx~40host~2eexample~2ecom'],
    ['a_b-c', 'a_b-c'],
    ['~', '~7e'],
    ['~7e', '~7e7e'],
    ['a.b*c>d', 'a~2eb~2ac~3ed'],
    ['sp ace\ttab\nnl\r', 'sp~20ace~09tab~0anl~0d'],
    ['%$/\\', '~25~24~2f~5c'],
    ['é', '~c3~a9'],
    ['ノード@例え.jp', '~e3~83~8e~e3~83~bc~e3~83~89~40~e4~be~8b~e3~81~88~2ejp'],
    ['🐦', '~f0~9f~90~a6'],
    ['\u0000', '~00'],
  ];

  for (const [name, token] of cases) {
    it(`${JSON.stringify(name)} ⇄ ${token}`, () => {
      assert.equal(encodeNodeToken(name), token);
      assert.match(token, TOKEN);
      assert.equal(decodeNodeToken(token), name);
    });
  }

  it('round-trips every single byte value and a long mixed name', () => {
    for (let c = 1; c < 0x800; c++) {
      const name = `n${String.fromCharCode(c)}x`;
      const token = encodeNodeToken(name);
      assert.match(token, TOKEN);
      assert.equal(decodeNodeToken(token), name);
    }
    const long = 'starling@' + 'host-ß.'.repeat(40) + '🐦';
    assert.equal(decodeNodeToken(encodeNodeToken(long)), long);
  });

  it('distinct names give distinct tokens', () => {
    const names = ['a.b', 'a~2eb', 'a_b', 'a-b', 'A.B', 'a..b', 'a.', '.a'];
    const tokens = new Set(names.map(encodeNodeToken));
    assert.equal(tokens.size, names.length);
  });

  it('decodes upper-case escapes too', () => {
    assert.equal(decodeNodeToken('a~2Eb'), 'a.b');
  });

  const bad: [what: string, token: string][] = [
    ['empty', ''],
    ['a dot', 'a.b'],
    ['a wildcard', 'a*'],
    ['a truncated escape', 'a~2'],
    ['a non-hex escape', 'a~zz'],
    ['a bare tilde', '~'],
    ['invalid UTF-8', '~c3'],
    ['a non-ASCII character', 'é'],
  ];
  for (const [what, token] of bad) {
    it(`rejects a token with ${what}`, () => {
      assert.throws(() => decodeNodeToken(token), RangeError);
    });
  }

  it('rejects names that cannot round-trip', () => {
    assert.throws(() => encodeNodeToken(''), RangeError);
    assert.throws(() => encodeNodeToken('a\uD800b'), RangeError); // lone surrogate
  });
});

describe('node subjects', () => {
  it('rpc and forward subjects are prefix + one token', () => {
    assert.equal(rpcSubject('starling@10.0.0.5'), 'starling.rpc.starling~4010~2e0~2e0~2e5');
    assert.equal(forwardSubject('emqx@host.example.com'), 'starling.fwd.emqx~40host~2eexample~2ecom');
    for (const node of ['a', 'x.y.z', '* >', 'ノード']) {
      for (const subject of [rpcSubject(node), forwardSubject(node)]) {
        const parts = subject.split('.');
        assert.equal(parts.length, 3);
        assert.equal(decodeNodeToken(parts[2]!), node);
        assert.doesNotMatch(subject, /[*>\s]/);
      }
    }
  });
});
