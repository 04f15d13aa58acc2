// starling-ctl's table formatter and its argument parsers, on their own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from 'commander';
import { untilSeconds } from '../../cli/commands/banned.js';
import { describeCode } from '../../cli/client.js';
import { cellText, counts, epochMicros, epochSeconds, fields, NO_ROWS, table, width, type Column } from '../../cli/format.js';
import { positiveInt, qos } from '../../cli/context.js';
import { formatDatetime } from '../../shared/time-format.js';

interface Row {
  id: string;
  n: number | null;
  on: boolean;
}

const COLS: Column<Row>[] = [
  { header: 'ID', value: (r) => r.id },
  { header: 'COUNT', value: (r) => r.n },
  { header: 'ON', value: (r) => r.on },
];

describe('table', () => {
  it('aligns columns two spaces apart under the header; numbers right, text left', () => {
    const out = table<Row>(
      [
        { id: 'a', n: 1, on: true },
        { id: 'longer-id', n: 12345, on: false },
      ],
      COLS,
    );
    assert.equal(out, ['ID         COUNT  ON', 'a              1  true', 'longer-id  12345  false'].join('\n'));
  });

  it('says (none) under the header when there are no rows', () => {
    assert.equal(table<Row>([], COLS), `ID  COUNT  ON\n${NO_ROWS}`);
  });

  it('leaves null cells empty, keeps a column of numbers and blanks right-aligned, and trims trailing blanks', () => {
    const out = table<Row>(
      [
        { id: 'x', n: null, on: true },
        { id: 'y', n: 7, on: true },
      ],
      [COLS[1]!, COLS[0]!],
    );
    assert.equal(out, ['COUNT  ID', '       x', '    7  y'].join('\n'));
  });

  it('a column with any text in it is left-aligned; an explicit align wins', () => {
    const mixed = table([{ v: 1 }, { v: 'x' }], [{ header: 'V', value: (r: { v: unknown }) => r.v }]);
    assert.equal(mixed, 'V\n1\nx');
    const right = table([{ v: 'ab' }, { v: 'c' }], [{ header: 'VAL', value: (r: { v: string }) => r.v, align: 'right' }]);
    assert.equal(right, 'VAL\n ab\n  c');
  });

  it('escapes control characters so that each row stays one line', () => {
    const out = table([{ s: 'two\nlines\tand\u001b[31mred' }], [{ header: 'S', value: (r: { s: string }) => r.s }]);
    assert.equal(out, 'S\ntwo\\nlines\\tand\\x1b[31mred');
    assert.equal(out.split('\n').length, 2);
  });

  it('counts width in code points, so non-ASCII clientids align', () => {
    assert.equal(width('ünïcødé'), 7);
    assert.equal(width('😀x'), 2);
    const out = table([{ s: 'é' }, { s: 'abc' }], [
      { header: 'S', value: (r: { s: string }) => r.s },
      { header: 'T', value: () => 't' },
    ]);
    assert.equal(out, 'S    T\né    t\nabc  t');
  });

  it('shows objects as JSON', () => {
    assert.equal(cellText({ high_watermark: 60 }), '{"high_watermark":60}');
    assert.equal(cellText(undefined), '');
    assert.equal(cellText(false), 'false');
  });
});

describe('fields', () => {
  it('lists an object\'s fields with the names in an aligned column', () => {
    assert.equal(fields({ clientid: 'c1', username: null, keepalive: 60 }), ['clientid   c1', 'username', 'keepalive  60'].join('\n'));
  });
});

describe('value formats', () => {
  it('epoch seconds and microseconds as the API\'s local datetimes; other values as they are', () => {
    assert.equal(epochSeconds(1_700_000_000), formatDatetime(1_700_000_000_000));
    assert.equal(epochMicros(1_597_996_203_658_236), formatDatetime(1_597_996_203_658));
    assert.equal(epochMicros('infinity'), 'infinity');
  });

  it('shutdown counts from an object, one-key objects or pairs', () => {
    assert.equal(counts({ kicked: 2, normal: 5 }), 'kicked=2 normal=5');
    assert.equal(counts([{ kicked: 2 }, { takeovered: 1 }]), 'kicked=2 takeovered=1');
    assert.equal(counts([['discarded', 3]]), 'discarded=3');
    assert.equal(counts([]), '');
  });

  it('names result codes from their one declaration', () => {
    assert.equal(describeCode(112), 'code 112 (client not online)');
    assert.equal(describeCode(101), 'code 101 (rpc error)');
    assert.equal(describeCode(999), 'code 999');
  });
});

describe('argument parsers', () => {
  it('positive integers and QoS', () => {
    assert.equal(positiveInt('25'), 25);
    for (const bad of ['0', '-1', '1.5', 'x', '', '99999999999999999999']) assert.throws(() => positiveInt(bad), InvalidArgumentError, bad);
    assert.equal(qos('2'), 2);
    for (const bad of ['3', '-1', 'one', '1.0']) assert.throws(() => qos(bad), InvalidArgumentError, bad);
  });

  it('--until: epoch seconds, a duration from now, or a date; never in the past', () => {
    const now = Date.UTC(2027, 0, 1, 12, 0, 0);
    const nowSec = now / 1000;
    assert.equal(untilSeconds(String(nowSec + 10), now), nowSec + 10);
    assert.equal(untilSeconds('90s', now), nowSec + 90);
    assert.equal(untilSeconds('10m', now), nowSec + 600);
    assert.equal(untilSeconds('2h', now), nowSec + 7200);
    assert.equal(untilSeconds('7d', now), nowSec + 7 * 86400);
    assert.equal(untilSeconds('2027-01-31T18:00:00Z', now), Date.UTC(2027, 0, 31, 18) / 1000);
    assert.equal(untilSeconds('2027-02-01', now), Date.UTC(2027, 1, 1) / 1000);
    for (const bad of ['soon', '10 m', '1w', '2026-12-31', String(nowSec), '2027-13-45', '-5']) assert.throws(() => untilSeconds(bad, now), InvalidArgumentError, bad);
  });
});
