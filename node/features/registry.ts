/**
 * The node's registry of switchable features, as EMQX lists them under its plugin and module
 * names (GET /api/v4/plugins, /modules). The catalog (catalog.ts) declares the entries; the
 * same feature may be exposed in both namespaces (retainer: plugin emqx_retainer and module
 * emqx_mod_retainer), and both entries then switch the one Feature and show the same state.
 *
 * State is cluster configuration (shared/api/feature-states.ts): a node's effective state for
 * a feature is its own node's record, else the '*' record, else the catalog default. The API
 * switches a node at once through its RPC (and writes the record, so the switch survives a
 * restart); every node also applies each change of the records (the config sync calls
 * applyRecords). Switches run one at a time, so a load, an unload and a sync never interleave.
 */
import { CLUSTER_SCOPE, featureStateKey, type FeatureStateRecord } from '../../shared/api/feature-states.js';
import type { PluginType, SwitchOutcome } from '../../shared/api/plugins.js';
import type { ConfigTable } from '../../shared/cluster/store.js';
import type { Logger } from '../../shared/logger.js';
import { CODE } from '../../shared/result-codes.js';
import type { Feature } from './feature.js';

export type Namespace = 'plugin' | 'module';

/** A feature as the catalog builds it: its id (the key of its state records), the object that switches it, its default. */
export interface Switchable {
  readonly id: string;
  readonly feature: Feature;
  readonly defaultActive: boolean;
}

/** One name under which a feature is listed. */
export interface CatalogEntry {
  readonly namespace: Namespace;
  /** EMQX's name: emqx_retainer, emqx_mod_presence, ... */
  readonly name: string;
  /** EMQX's text */
  readonly description: string;
  /** plugins only */
  readonly type?: PluginType;
  readonly switches: Switchable;
}

export type SwitchOp = 'load' | 'unload' | 'reload';

const ok = (changed: boolean): SwitchOutcome => ({ code: CODE.OK, changed });
const fail = (code: number, message: string): SwitchOutcome => ({ code, message });
const why = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export class FeatureRegistry {
  private readonly entries: CatalogEntry[] = [];
  /** each feature once, by id */
  private readonly features = new Map<string, Switchable>();
  private store: ConfigTable | undefined;
  /** the switch under way; the next one waits for it */
  private turn: Promise<unknown> = Promise.resolve();
  private pending = 0;
  /** records arrived while a switch was under way: they may predate its write, so the store is read again after */
  private reread = false;

  constructor(
    private readonly nodeName: string,
    private readonly log: Logger,
  ) {}

  /** Adds the catalog's entries and brings every feature to its default (no record is known yet). */
  register(entries: readonly CatalogEntry[]): void {
    for (const e of entries) {
      if (this.find(e.namespace, e.name)) throw new Error(`${e.namespace} ${e.name} is registered twice`);
      const known = this.features.get(e.switches.id);
      if (known && known !== e.switches) throw new Error(`feature ${e.switches.id} is declared twice with different objects`);
      this.features.set(e.switches.id, e.switches);
      this.entries.push(e);
    }
    this.applyRecords([]);
  }

  /** Where switches are kept (the cluster store, attached by the cluster layer); without one a switch lasts the process. */
  attachStore(store: ConfigTable): void {
    this.store = store;
  }

  list(ns: Namespace): { entry: CatalogEntry; active: boolean }[] {
    return this.entries.filter((e) => e.namespace === ns).map((entry) => ({ entry, active: entry.switches.feature.active }));
  }

  find(ns: Namespace, name: string): CatalogEntry | undefined {
    return this.entries.find((e) => e.namespace === ns && e.name === name);
  }

  /**
   * Brings every feature to its effective state under `records` (the whole feature_states
   * table). A feature refusing is logged and stays as it is.
   */
  applyRecords(records: readonly FeatureStateRecord[]): void {
    if (this.pending > 0) {
      this.reread = true;
      return;
    }
    void this.serial(() => this.reconcile(records));
  }

  /** A per-node load, unload or reload (PUT .../nodes/{node}/plugins|modules/{name}/...), kept as this node's record. */
  switch(ns: Namespace, name: string, op: SwitchOp): Promise<SwitchOutcome> {
    return this.serial(async () => {
      const entry = this.find(ns, name);
      if (!entry) return notFound(ns, name);
      const { feature } = entry.switches;
      if (op === 'reload') return this.reload(entry);
      const want = op === 'load';
      if (feature.active === want) return fail(want ? CODE.PLUGIN_LOADED : CODE.PLUGIN_UNLOADED, `${ns} ${name} is already ${want ? 'loaded' : 'unloaded'}`);
      const refused = await this.turnTo(entry.switches, want);
      if (refused !== undefined) return fail(CODE.UNKNOWN, `${ns} ${name} could not be ${want ? 'loaded' : 'unloaded'}: ${refused}`);
      return this.keep(entry, want);
    });
  }

  /**
   * A cluster-wide module load or unload, asked of one node: the '*' record says `active`
   * and the feature's node records go, so every node applies it (and keeps it after a restart).
   */
  setClusterState(name: string, active: boolean): Promise<SwitchOutcome> {
    return this.serial(async () => {
      const entry = this.find('module', name);
      if (!entry) return notFound('module', name);
      const store = this.store;
      if (!store) return ok(false);
      const id = entry.switches.id;
      try {
        await store.configPut('feature_states', { feature: id, scope: CLUSTER_SCOPE, active }, 'upsert');
        for (const r of await store.configList('feature_states')) {
          if (r.feature === id && r.scope !== CLUSTER_SCOPE) await store.configDelete('feature_states', featureStateKey(r.scope, id));
        }
      } catch (err) {
        return fail(CODE.RPC_ERROR, `cluster store unavailable (feature_states): ${why(err)}`);
      }
      return ok(false);
    });
  }

  /** Switches a module on this node now, writing nothing (the fan-out after setClusterState). */
  apply(name: string, active: boolean): Promise<SwitchOutcome> {
    return this.serial(async () => {
      const entry = this.find('module', name);
      if (!entry) return notFound('module', name);
      if (entry.switches.feature.active === active) return ok(false);
      const refused = await this.turnTo(entry.switches, active);
      if (refused !== undefined) return fail(CODE.UNKNOWN, `module ${name} could not be ${active ? 'loaded' : 'unloaded'}: ${refused}`);
      return ok(true);
    });
  }

  /**
   * EMQX's reload. A plugin not loaded is loaded; a loaded one re-reads its configuration
   * (reload()) or is unloaded and loaded again. A module reloads only if its feature can
   * re-read its configuration (EMQX: emqx_mod_acl_internal only), and only while loaded.
   */
  private async reload(entry: CatalogEntry): Promise<SwitchOutcome> {
    const { namespace: ns, name, switches } = entry;
    const { feature } = switches;
    if (ns === 'module' && !feature.reload) return fail(CODE.UNKNOWN, `module ${name} cannot be reloaded (only emqx_mod_acl_internal can)`);
    if (!feature.active) {
      if (ns === 'module') return fail(CODE.PLUGIN_UNLOADED, `module ${name} is not loaded`);
      const refused = await this.turnTo(switches, true);
      if (refused !== undefined) return fail(CODE.UNKNOWN, `plugin ${name} could not be loaded: ${refused}`);
      return this.keep(entry, true);
    }
    try {
      if (feature.reload) await feature.reload();
      else {
        await feature.unload();
        await feature.load();
      }
    } catch (err) {
      this.log.warn({ [ns]: name, err: why(err) }, `${ns} reload failed`);
      // unloaded and not loaded again: keep what the node now does
      if (!feature.active) return this.keep(entry, false, `${ns} ${name} could not be reloaded: ${why(err)}`);
      return fail(CODE.UNKNOWN, `${ns} ${name} could not be reloaded: ${why(err)}`);
    }
    return ok(true);
  }

  /**
   * Writes this node's record after a switch, so it outlives a restart; if the store is away
   * the switch is undone (the records, not this process, say what the node does). `failed`:
   * the answer to give once kept, for a switch that did not go as asked.
   */
  private async keep(entry: CatalogEntry, active: boolean, failed?: string): Promise<SwitchOutcome> {
    const store = this.store;
    if (store) {
      try {
        await store.configPut('feature_states', { feature: entry.switches.id, scope: this.nodeName, active }, 'upsert');
      } catch (err) {
        await this.turnTo(entry.switches, !active);
        return fail(CODE.RPC_ERROR, `cluster store unavailable (feature_states), ${entry.namespace} ${entry.name} left as it was: ${why(err)}`);
      }
    }
    return failed === undefined ? ok(true) : fail(CODE.UNKNOWN, failed);
  }

  /** Loads or unloads; the feature's refusal as text, undefined when it did. */
  private async turnTo(s: Switchable, active: boolean): Promise<string | undefined> {
    try {
      if (active) await s.feature.load();
      else await s.feature.unload();
      this.log.info({ feature: s.id, active }, active ? 'feature loaded' : 'feature unloaded');
      return undefined;
    } catch (err) {
      this.log.warn({ feature: s.id, active, err: why(err) }, 'feature refused the switch');
      return why(err);
    }
  }

  private async reconcile(records: readonly FeatureStateRecord[]): Promise<void> {
    const byKey = new Map(records.map((r) => [featureStateKey(r.scope, r.feature), r.active]));
    for (const s of this.features.values()) {
      const want = byKey.get(featureStateKey(this.nodeName, s.id)) ?? byKey.get(featureStateKey(CLUSTER_SCOPE, s.id)) ?? s.defaultActive;
      if (s.feature.active !== want) await this.turnTo(s, want);
    }
  }

  /** Runs `fn` after the switches before it; when the last one ends, records that came meanwhile are read again. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    const run = this.turn.then(fn).finally(() => {
      if (--this.pending === 0 && this.reread) {
        this.reread = false;
        this.rereadStore();
      }
    });
    this.turn = run.catch(() => {});
    return run;
  }

  private rereadStore(): void {
    const store = this.store;
    if (!store) return;
    void this.serial(async () => {
      try {
        await this.reconcile(await store.configList('feature_states'));
      } catch (err) {
        this.log.warn({ err: why(err) }, 'could not read the feature_states table; the current states stay');
      }
    });
  }
}

function notFound(ns: Namespace, name: string): SwitchOutcome {
  return fail(CODE.NOT_FOUND, `${ns} ${name} not found`);
}
