// shared/topic.ts: topic names, filters, matching and shared-subscription parsing, table-driven.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isWildcard, parseShare, topicMatches, validTopicFilter, validTopicName } from '../../shared/topic.js';

describe('validTopicName', () => {
  const cases: [string, boolean, number?][] = [
    ['a', true],
    ['a/b/c', true],
    ['/', true],
    ['//', true],
    ['/a', true],
    ['a/', true],
    [' ', true],
    ['$SYS/brokers', true],
    ['$', true],
    ['温度/传感器', true],
    ['😀', true],
    ['a b/c-d_e.f', true],
    ['', false],
    ['+', false],
    ['#', false],
    ['a/+', false],
    ['a/#', false],
    ['a+b', false],
    ['a#b', false],
    ['a\u0000b', false],
    ['\u0000', false],
    ['x'.repeat(65535), true],
    ['x'.repeat(65536), false],
    // levels limit
    ['a/b/c', true, 3],
    ['a/b/c/d', false, 3],
    ['/a/b', true, 3],
    ['a/b/', true, 3],
    ['a//b/', false, 3],
    ['a', true, 1],
    ['/', false, 1],
    ['a/b/c/d/e/f', true, 0],
  ];
  for (const [topic, ok, maxLevels] of cases) {
    it(`${JSON.stringify(topic.length > 40 ? `${topic.slice(0, 10)}…(${topic.length})` : topic)}${maxLevels !== undefined ? ` maxLevels=${maxLevels}` : ''} → ${ok}`, () => {
      assert.equal(maxLevels === undefined ? validTopicName(topic) : validTopicName(topic, { maxLevels }), ok);
    });
  }
});

describe('validTopicFilter', () => {
  const cases: [string, boolean, number?][] = [
    ['a', true],
    ['#', true],
    ['+', true],
    ['+/+', true],
    ['a/#', true],
    ['a/+/b', true],
    ['+/a/#', true],
    ['/#', true],
    ['/+/', true],
    ['$SYS/#', true],
    ['$share/g/a/+', true], // a share prefix is just levels here
    ['a//b', true],
    ['/', true],
    ['', false],
    ['#/', false],
    ['#/a', false],
    ['a/#/b', false],
    ['a#', false],
    ['a/b#', false],
    ['a/#b', false],
    ['a+', false],
    ['a/+b', false],
    ['+a/b', false],
    ['++', false],
    ['##', false],
    ['a/\u0000', false],
    ['x'.repeat(65535), true],
    ['x'.repeat(65536), false],
    ['a/b/#', true, 3],
    ['a/b/c/#', false, 3],
    ['+/+/+', true, 3],
    ['+/+/+/+', false, 3],
    ['#', true, 1],
  ];
  for (const [filter, ok, maxLevels] of cases) {
    it(`${JSON.stringify(filter.length > 40 ? `${filter.slice(0, 10)}…(${filter.length})` : filter)}${maxLevels !== undefined ? ` maxLevels=${maxLevels}` : ''} → ${ok}`, () => {
      assert.equal(maxLevels === undefined ? validTopicFilter(filter) : validTopicFilter(filter, { maxLevels }), ok);
    });
  }

  it('isWildcard', () => {
    assert.equal(isWildcard('a/b'), false);
    assert.equal(isWildcard('a/+'), true);
    assert.equal(isWildcard('#'), true);
    assert.equal(isWildcard('$SYS/x'), false);
  });
});

describe('topicMatches', () => {
  // [filter, topic, matches]
  const cases: [string, string, boolean][] = [
    ['a', 'a', true],
    ['a', 'b', false],
    ['a', 'a/b', false],
    ['a/b', 'a', false],
    ['a/b', 'a/b', true],
    ['A/b', 'a/b', false], // case-sensitive
    ['+', 'a', true],
    ['+', 'a/b', false],
    ['+', '/', false],
    ['+/+', '/', true],
    ['+', '', true],
    ['/+', '/a', true],
    ['+/a', '/a', true],
    ['a/+', 'a/', true],
    ['a/+', 'a', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/b/d', false],
    ['a/+/c', 'a/b/c/d', false],
    ['#', 'a', true],
    ['#', 'a/b/c', true],
    ['#', '/', true],
    ['a/#', 'a', true], // `#` includes the parent level
    ['a/#', 'a/', true],
    ['a/#', 'a/b', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'ab', false],
    ['a/#', 'b/a', false],
    ['a/+/#', 'a/b', true],
    ['a/+/#', 'a', false],
    ['a/+/#', 'a/b/c/d', true],
    ['+/#', 'a', true],
    ['/#', '/', true],
    ['/#', 'a', false],
    ['a//b', 'a//b', true],
    ['a/+/b', 'a//b', true],
    // $-topics are not matched by a leading wildcard [MQTT-4.7.2-1]
    ['#', '$SYS', false],
    ['#', '$SYS/a', false],
    ['+', '$SYS', false],
    ['+/a', '$SYS/a', false],
    ['+/#', '$SYS/a', false],
    ['$SYS/#', '$SYS/a', true],
    ['$SYS/#', '$SYS', true],
    ['$SYS/+', '$SYS/a', true],
    ['$SYS/+/c', '$SYS/b/c', true],
    ['$SYS', '$SYS', true],
    ['#', '$', false],
    ['+', '$x', false],
    ['$x/+', '$x/y', true],
    // `$` elsewhere is an ordinary character
    ['#', 'a/$SYS', true],
    ['a/+', 'a/$x', true],
    ['a/#', 'a/$x/y', true],
    ['温度/+', '温度/1', true],
  ];
  for (const [filter, topic, ok] of cases) {
    it(`${JSON.stringify(filter)} ${ok ? 'matches' : 'does not match'} ${JSON.stringify(topic)}`, () => {
      assert.equal(topicMatches(filter, topic), ok);
    });
  }
});

describe('parseShare', () => {
  const cases: [string, { group: string; filter: string } | undefined | null][] = [
    ['a/b', undefined],
    ['#', undefined],
    ['$SYS/#', undefined],
    ['$share', undefined],
    ['$shared/g/a', undefined],
    ['$queues/a', undefined],
    ['$share/g/a', { group: 'g', filter: 'a' }],
    ['$share/g/a/+/#', { group: 'g', filter: 'a/+/#' }],
    ['$share/group-1/#', { group: 'group-1', filter: '#' }],
    ['$share/g//', { group: 'g', filter: '/' }],
    ['$share/g/$SYS/x', { group: 'g', filter: '$SYS/x' }],
    ['$share/g/$share/h/x', { group: 'g', filter: '$share/h/x' }],
    ['$queue/a/b', { group: '$queue', filter: 'a/b' }],
    ['$queue/#', { group: '$queue', filter: '#' }],
    ['$share/', null],
    ['$share/g', null],
    ['$share/g/', null],
    ['$share//a', null],
    ['$share/+/a', null],
    ['$share/#/a', null],
    ['$share/g+/a', null],
    ['$share/g#/a', null],
    ['$queue/', null],
  ];
  for (const [filter, expected] of cases) {
    it(`${JSON.stringify(filter)} → ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseShare(filter), expected);
    });
  }
});
