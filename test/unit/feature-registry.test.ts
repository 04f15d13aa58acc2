// The feature registry (node/features/registry.ts) on fake features and a memory store: the
// effective state (own record, else '*', else the default), EMQX's answers to load, unload
// and reload per namespace, refusals, a store that is away, and switches that never interleave.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FeatureStateRecord } from '../../shared/api/feature-states.js';
import { MemoryStore } from '../../shared/cluster/memory-store.js';
import { createLogger } from '../../shared/logger.js';
import type { Feature } from '../../node/features/feature.js';
import { FeatureRegistry, type CatalogEntry, type Switchable } from '../../node/features/registry.js';
import { switchable } from '../../node/features/catalog.js';

const NODE = 'n1@127.0.0.1';

/** A feature recording its calls; `refuse` makes the next load (or unload) throw; `delayMs` makes them slow. */
class Fake implements Feature {
  active: boolean;
  calls: string[] = [];
  refuse: 'load' | 'unload' | undefined;
  delayMs = 0;
  reload?: () => Promise<void>;

  constructor(active: boolean, reloadable = false) {
    this.active = active;
    if (reloadable) this.reload = async () => void this.calls.push('reload');
  }

  async load(): Promise<void> {
    await this.step('load', true);
  }

  async unload(): Promise<void> {
    await this.step('unload', false);
  }

  private async step(op: 'load' | 'unload', to: boolean): Promise<void> {
    this.calls.push(`${op}:start`);
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.refuse === op) {
      this.refuse = undefined;
      throw new Error(`${op} refused`);
    }
    this.active = to;
    this.calls.push(`${op}:end`);
  }
}

function setup(opts: { defaultActive?: boolean; reloadable?: boolean; store?: boolean } = {}) {
  const fake = new Fake(false, opts.reloadable);
  const s: Switchable = switchable('thing', fake, opts.defaultActive ?? true);
  const entries: CatalogEntry[] = [
    { namespace: 'plugin', name: 'emqx_thing', description: 'Thing', type: 'feature', switches: s },
    { namespace: 'module', name: 'emqx_mod_thing', description: 'Thing Module', switches: s },
  ];
  const reg = new FeatureRegistry(NODE, createLogger('silent'));
  const store = new MemoryStore();
  if (opts.store !== false) reg.attachStore(store);
  reg.register(entries);
  return { fake, reg, store };
}

const settle = (reg: FeatureRegistry) => reg.switch('plugin', 'emqx_none', 'load'); // queued after everything before it
const rec = (scope: string, active: boolean): FeatureStateRecord => ({ feature: 'thing', scope, active });

describe('feature registry', () => {
  it('brings a feature to its default, then to its records: own node first, then *, then the default', async () => {
    const { fake, reg } = setup({ defaultActive: true });
    await settle(reg);
    assert.equal(fake.active, true, 'default');
    reg.applyRecords([rec('*', false)]);
    await settle(reg);
    assert.equal(fake.active, false, "'*'");
    reg.applyRecords([rec('*', false), rec(NODE, true)]);
    await settle(reg);
    assert.equal(fake.active, true, 'own record over *');
    reg.applyRecords([rec('*', false), rec('n2@127.0.0.1', true)]);
    await settle(reg);
    assert.equal(fake.active, false, "another node's record is not ours");
    reg.applyRecords([]);
    await settle(reg);
    assert.equal(fake.active, true, 'default again');
  });

  it('lists both names with the one state, and refuses a name twice or one id with two objects', async () => {
    const { fake, reg } = setup();
    await settle(reg);
    assert.deepEqual(
      reg.list('plugin').map((p) => [p.entry.name, p.active]),
      [['emqx_thing', true]],
    );
    fake.active = false;
    assert.deepEqual(
      reg.list('module').map((p) => [p.entry.name, p.active]),
      [['emqx_mod_thing', false]],
    );
    const other = switchable('thing', new Fake(true), true);
    assert.throws(() => reg.register([{ namespace: 'plugin', name: 'emqx_other', description: '', switches: other }]), /declared twice/);
    assert.throws(() => reg.register([{ namespace: 'module', name: 'emqx_mod_thing', description: '', switches: other }]), /registered twice/);
  });

  it('load and unload answer 110, 111, 404 and 102, and keep the node record', async () => {
    const { fake, reg, store } = setup();
    assert.deepEqual(await reg.switch('plugin', 'emqx_thing', 'load'), { code: 110, message: 'plugin emqx_thing is already loaded' });
    assert.deepEqual(await reg.switch('plugin', 'emqx_nothing', 'load'), { code: 404, message: 'plugin emqx_nothing not found' });
    assert.deepEqual(await reg.switch('module', 'emqx_thing', 'load'), { code: 404, message: 'module emqx_thing not found' });
    assert.deepEqual(await reg.switch('module', 'emqx_mod_thing', 'unload'), { code: 0, changed: true });
    assert.equal(fake.active, false);
    assert.deepEqual(await store.configList('feature_states'), [rec(NODE, false)]);
    assert.equal((await reg.switch('plugin', 'emqx_thing', 'unload')).code, 111, 'the plugin name shows the same state');
    fake.refuse = 'load';
    const r = await reg.switch('plugin', 'emqx_thing', 'load');
    assert.deepEqual(r, { code: 102, message: 'plugin emqx_thing could not be loaded: load refused' });
    assert.equal(fake.active, false);
    assert.deepEqual(await store.configList('feature_states'), [rec(NODE, false)], 'a refused switch writes nothing');
  });

  it('reload: a plugin is reloaded or unloaded and loaded, or loaded if it was not; a module only if it can re-read', async () => {
    const { fake, reg, store } = setup();
    await settle(reg);
    fake.calls = [];
    assert.deepEqual(await reg.switch('plugin', 'emqx_thing', 'reload'), { code: 0, changed: true });
    assert.deepEqual(fake.calls, ['unload:start', 'unload:end', 'load:start', 'load:end']);
    assert.deepEqual(await reg.switch('module', 'emqx_mod_thing', 'reload'), { code: 102, message: 'module emqx_mod_thing cannot be reloaded (only emqx_mod_acl_internal can)' });
    await reg.switch('plugin', 'emqx_thing', 'unload');
    assert.deepEqual(await reg.switch('plugin', 'emqx_thing', 'reload'), { code: 0, changed: true });
    assert.equal(fake.active, true);
    assert.deepEqual(await store.configList('feature_states'), [rec(NODE, true)]);
    // unloaded, then refusing to load again: the node says unloaded, and so does its record
    fake.refuse = 'load';
    assert.equal((await reg.switch('plugin', 'emqx_thing', 'reload')).code, 102);
    assert.equal(fake.active, false);
    assert.deepEqual(await store.configList('feature_states'), [rec(NODE, false)]);

    const r = setup({ reloadable: true });
    await settle(r.reg);
    r.fake.calls = [];
    assert.deepEqual(await r.reg.switch('module', 'emqx_mod_thing', 'reload'), { code: 0, changed: true });
    assert.deepEqual(r.fake.calls, ['reload']);
    await r.reg.switch('module', 'emqx_mod_thing', 'unload');
    assert.deepEqual(await r.reg.switch('module', 'emqx_mod_thing', 'reload'), { code: 111, message: 'module emqx_mod_thing is not loaded' });
  });

  it('a store that is away: the switch is undone and answered 101', async () => {
    const { fake, reg, store } = setup();
    await settle(reg);
    await store.close();
    const r = await reg.switch('plugin', 'emqx_thing', 'unload');
    assert.equal(r.code, 101);
    assert.match((r as { message: string }).message, /left as it was/);
    assert.equal(fake.active, true);
    assert.equal((await reg.setClusterState('emqx_mod_thing', false)).code, 101);
  });

  it("setClusterState writes '*' and drops the node records; apply switches without writing", async () => {
    const { fake, reg, store } = setup();
    await store.configPut('feature_states', rec(NODE, true), 'upsert');
    await store.configPut('feature_states', rec('n2@127.0.0.1', false), 'upsert');
    await store.configPut('feature_states', { feature: 'other', scope: NODE, active: true }, 'upsert');
    assert.deepEqual(await reg.setClusterState('emqx_mod_thing', false), { code: 0, changed: false });
    assert.deepEqual(await store.configList('feature_states'), [rec('*', false), { feature: 'other', scope: NODE, active: true }]);
    assert.equal((await reg.setClusterState('emqx_thing', false)).code, 404, 'modules only');
    assert.deepEqual(await reg.apply('emqx_mod_thing', false), { code: 0, changed: true });
    assert.equal(fake.active, false);
    assert.deepEqual(await reg.apply('emqx_mod_thing', false), { code: 0, changed: false });
  });

  it('never interleaves switches, and records arriving during one are read again from the store after it', async () => {
    const { fake, reg, store } = setup();
    await settle(reg);
    fake.delayMs = 30;
    fake.calls = [];
    const unload = reg.switch('plugin', 'emqx_thing', 'unload');
    // a stale table (from before the unload's write) arrives meanwhile: it must not win
    reg.applyRecords([]);
    const load = reg.switch('plugin', 'emqx_thing', 'load');
    assert.equal((await unload).code, 0);
    assert.equal((await load).code, 0);
    await settle(reg);
    assert.deepEqual(fake.calls, ['unload:start', 'unload:end', 'load:start', 'load:end']);
    assert.deepEqual(await store.configList('feature_states'), [rec(NODE, true)]);
    // and with the store saying unloaded, a stale table during a switch ends as the store says
    await store.configPut('feature_states', rec(NODE, false), 'upsert');
    const slow = reg.apply('emqx_mod_thing', true);
    reg.applyRecords([rec(NODE, true)]);
    await slow;
    await settle(reg);
    await settle(reg);
    assert.equal(fake.active, false);
  });

  it('works without a store: a switch lasts the process', async () => {
    const { fake, reg } = setup({ store: false });
    assert.deepEqual(await reg.switch('plugin', 'emqx_thing', 'unload'), { code: 0, changed: true });
    assert.equal(fake.active, false);
    assert.deepEqual(await reg.setClusterState('emqx_mod_thing', true), { code: 0, changed: false });
  });
});
