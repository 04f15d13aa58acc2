/**
 * node/alarms: the alarm table (idempotent activation, bounded history, microsecond times,
 * the hookpoints) and the monitors' rules over a probe the test drives (memory and CPU
 * watermarks with EMQX's names, messages and details, listener connections, a cluster
 * link's grace time).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Alarms, nowMicros } from '../../node/alarms/alarms.js';
import { AlarmMonitors, thresholdsFault, type ClusterLink, type Probe } from '../../node/alarms/monitors.js';
import { Hooks, type AlarmEvent } from '../../node/core/hooks.js';
import type { Listener } from '../../node/listeners/listener.js';
import type { AlarmRow } from '../../shared/api/alarms.js';
import { loadConfig } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';
import { sleep } from '../support/wait.js';

const log = createLogger('silent');

function table(sizeLimit = 1000, now?: () => number): { alarms: Alarms; events: [string, AlarmRow][] } {
  const hooks = new Hooks(log);
  const events: [string, AlarmRow][] = [];
  hooks.alarmActivated.on((e: AlarmEvent) => events.push(['activated', e.alarm]));
  hooks.alarmDeactivated.on((e: AlarmEvent) => events.push(['deactivated', e.alarm]));
  return { alarms: new Alarms(hooks, log, sizeLimit, now), events };
}

describe('the alarm table', () => {
  it('activates once per name: raising an active alarm again changes nothing and emits nothing', () => {
    const { alarms, events } = table();
    assert.equal(alarms.activate('a', { x: 1 }, 'first'), true);
    assert.equal(alarms.activate('a', { x: 2 }, 'second'), false);
    const [row] = alarms.list('activated');
    assert.deepEqual({ ...row, activate_at: 0 }, { name: 'a', message: 'first', details: { x: 1 }, activate_at: 0, deactivate_at: 'infinity', activated: true });
    assert.deepEqual(
      events.map(([e, a]) => [e, a.name]),
      [['activated', 'a']],
    );
  });

  it('deactivates into the history with both timestamps; deactivating what is not active is false', () => {
    let t = 1_000_000;
    const { alarms, events } = table(1000, () => (t += 7));
    alarms.activate('a', {}, 'm');
    assert.equal(alarms.deactivate('a'), true);
    assert.equal(alarms.deactivate('a'), false);
    assert.equal(alarms.deactivate('never'), false);
    assert.deepEqual(alarms.list('activated'), []);
    const [d] = alarms.list('deactivated');
    assert.equal(d!.activated, false);
    assert.equal(d!.activate_at, 1_000_007);
    assert.equal(d!.deactivate_at, 1_000_014);
    assert.deepEqual(
      events.map(([e]) => e),
      ['activated', 'deactivated'],
    );
    assert.deepEqual(events[1]![1], d);
    // raised again: active and in the history at once, active first
    alarms.activate('a', {}, 'm');
    assert.deepEqual(
      alarms.list('all').map((a) => a.activated),
      [true, false],
    );
  });

  it('keeps at most sizeLimit deactivated alarms, dropping the oldest; 0 keeps all', () => {
    const { alarms } = table(3);
    for (let i = 0; i < 5; i++) {
      alarms.activate(`a${i}`, {}, '');
      alarms.deactivate(`a${i}`);
    }
    assert.deepEqual(
      alarms.list('deactivated').map((a) => a.name),
      ['a2', 'a3', 'a4'],
    );
    const unbounded = table(0).alarms;
    for (let i = 0; i < 1200; i++) {
      unbounded.activate('x', {}, '');
      unbounded.deactivate('x');
    }
    assert.equal(unbounded.list('deactivated').length, 1200);
    assert.equal(unbounded.clearDeactivated(), 1200);
    assert.deepEqual(unbounded.list('all'), []);
  });

  it('lists copies: changing a row does not change the table', () => {
    const { alarms } = table();
    alarms.activate('a', {}, 'm');
    alarms.list('all')[0]!.activated = false;
    assert.equal(alarms.list('all')[0]!.activated, true);
  });

  it('stamps microseconds since the epoch, increasing within a millisecond', () => {
    const a = nowMicros();
    const b = nowMicros();
    assert.ok(Number.isSafeInteger(a));
    assert.ok(Math.abs(a - Date.now() * 1000) < 1_000_000, `${a} vs ${Date.now()}`);
    assert.ok(b >= a);
    const { alarms } = table();
    alarms.activate('t', {}, '');
    assert.ok(Math.abs(alarms.list('all')[0]!.activate_at - Date.now() * 1000) < 1_000_000);
  });
});

/** A probe the test sets, and monitors over it. */
function monitored(env: Record<string, string> = {}) {
  const state = { total: 1000, free: 500, rss: 10, busy: 0, cpuTotal: 0 };
  const probe: Probe = {
    memory: () => ({ total: state.total, free: state.free, rss: state.rss }),
    cpuTimes: () => ({ busy: state.busy, total: state.cpuTotal }),
  };
  const listener = { protocol: 'mqtt:tcp', current: 0, maxConns: 10, info: () => ({ listen_on: '1883' }) };
  const { alarms } = table();
  const host = { cfg: loadConfig(env, []), alarms, listeners: [listener as unknown as Listener] };
  return { state, listener, alarms, monitors: new AlarmMonitors(host, probe) };
}

const active = (alarms: Alarms): Record<string, AlarmRow> => Object.fromEntries(alarms.list('activated').map((a) => [a.name, a]));

describe('the monitors', () => {
  it('raise high_system_memory_usage above the watermark with EMQX’s message and details, and clear it below', () => {
    const { state, alarms, monitors } = monitored();
    monitors.check();
    assert.equal(active(alarms).high_system_memory_usage, undefined, '50% used, watermark 70%');
    state.free = 200;
    monitors.check();
    const a = active(alarms).high_system_memory_usage!;
    assert.equal(a.message, 'System memory usage is higher than 70%');
    assert.deepEqual(a.details, { high_watermark: 70 });
    state.free = 400;
    monitors.check();
    assert.equal(active(alarms).high_system_memory_usage, undefined);
    assert.equal(alarms.list('deactivated')[0]!.name, 'high_system_memory_usage');
  });

  it('raise high_process_memory_usage when the process uses more than its share of memory', () => {
    const { state, alarms, monitors } = monitored();
    monitors.check();
    assert.equal(active(alarms).high_process_memory_usage, undefined, '1%, watermark 5%');
    state.rss = 60;
    monitors.check();
    const a = active(alarms).high_process_memory_usage!;
    assert.equal(a.message, 'Process memory usage is higher than 5%');
    assert.deepEqual(a.details, { pid: String(process.pid), high_watermark: 5 });
  });

  it('raise high_cpu_usage over the high watermark, keep it between the watermarks, clear it under the low one', () => {
    const { state, alarms, monitors } = monitored();
    const step = (busyMs: number): void => {
      state.busy += busyMs;
      state.cpuTotal += 100;
      monitors.check();
    };
    monitors.check(); // the baseline
    step(85.5);
    const a = active(alarms).high_cpu_usage!;
    assert.equal(a.message, '85.5% cpu usage');
    assert.deepEqual(a.details, { usage: 85.5, high_watermark: 80, low_watermark: 60 });
    step(70);
    assert.ok(active(alarms).high_cpu_usage, 'between the watermarks: still active');
    step(59);
    assert.equal(active(alarms).high_cpu_usage, undefined);
    step(70);
    assert.equal(active(alarms).high_cpu_usage, undefined, 'between the watermarks: not raised');
  });

  it('raise too_many_connections/<listener> over the watermark of its max_conns, naming the listener', () => {
    const { listener, alarms, monitors } = monitored();
    listener.current = 9;
    monitors.check();
    assert.equal(active(alarms)['too_many_connections/mqtt:tcp'], undefined, '90% is not above 90%');
    listener.current = 10;
    monitors.check();
    const a = active(alarms)['too_many_connections/mqtt:tcp']!;
    assert.deepEqual(a.details, { listener: 'mqtt:tcp', listen_on: '1883', current_conns: 10, max_conns: 10, high_watermark: 90 });
    listener.current = 3;
    monitors.check();
    assert.deepEqual(active(alarms), {});
  });

  it('configure() puts new watermarks in force at once and keeps the others', () => {
    const { alarms, monitors } = monitored();
    const t = monitors.configure({ sysmemHighWatermark: 10 });
    assert.equal(t.sysmemHighWatermark, 10);
    assert.equal(t.procmemHighWatermark, 5);
    assert.equal(active(alarms).high_system_memory_usage!.message, 'System memory usage is higher than 10%');
    monitors.configure({ sysmemHighWatermark: 100 });
    assert.deepEqual(active(alarms), {});
  });

  it('thresholdsFault names what cannot hold', () => {
    const ok = monitored().monitors.thresholds;
    assert.equal(thresholdsFault(ok), undefined);
    assert.match(thresholdsFault({ ...ok, sysmemHighWatermark: -1 })!, /sysmemHighWatermark/);
    assert.match(thresholdsFault({ ...ok, cpuLowWatermark: 90 })!, /cpuLowWatermark/);
    assert.match(thresholdsFault({ ...ok, checkIntervalMs: 1 })!, /checkIntervalMs/);
  });

  it('raise cluster_store_unreachable only after the grace time down, clear it on reconnect', async () => {
    const { alarms, monitors } = monitored({ STARLING_ALARM_CLUSTER_GRACE_MS: '100' });
    let reconnect: () => void = () => {};
    const link: ClusterLink & { connected: boolean } = { connected: true, onReconnect: (cb) => void (reconnect = cb) };
    monitors.watch('store', 'redis', link);
    monitors.check();
    link.connected = false;
    monitors.check();
    assert.deepEqual(active(alarms), {}, 'within the grace time');
    await sleep(120);
    monitors.check();
    const a = active(alarms).cluster_store_unreachable!;
    assert.equal(a.message, 'Cluster store (redis) is unreachable');
    assert.equal(a.details.service, 'redis');
    assert.ok((a.details.unreachable_since as number) <= a.activate_at - 100_000);
    link.connected = true;
    reconnect();
    assert.deepEqual(active(alarms), {});
  });
});
