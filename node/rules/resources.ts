import { ParamError } from '../../shared/api/query-schema.js';
import { badParam } from '../../shared/api/query-schema.js';
import type { ResourceRecord, ResourceStatusRow, ResourceTypeRow } from '../../shared/api/resources.js';
import type { Logger } from '../../shared/logger.js';
import type { ResourceInstance, ResourceType } from './contracts.js';
import { checkSchema } from './params-check.js';
import { webHookResourceType } from './resource-types/web-hook.js';

interface Live {
  /** the record's config as JSON: a change of it makes a new instance */
  config: string;
  instance: ResourceInstance;
}

/**
 * The node's instances of the cluster's resources (config kind 'resources', loaded by
 * node/cluster/config-sync.ts's ConfigSync): one per resource, made when it appears, closed
 * when it goes, remade when its config changes. Actions look theirs up here (ActionHost's
 * resource()); the API's status per node is each instance's health check.
 */
export class Resources {
  private readonly types = new Map<string, ResourceType>();
  private readonly live = new Map<string, Live>();

  constructor(
    private readonly log: Logger,
    types: readonly ResourceType[] = [webHookResourceType],
  ) {
    for (const t of types) this.types.set(t.name, t);
  }

  /** Adds a resource type (EMQX's -resource_type of an app). */
  register(t: ResourceType): void {
    this.types.set(t.name, t);
  }

  typeRows(): ResourceTypeRow[] {
    return [...this.types.values()].map((t) => ({ name: t.name, provider: t.provider, title: t.title, description: t.description, params: t.params }));
  }

  /** The config checked against the type's schema, defaults filled; a ParamError (108) naming the fault otherwise. */
  check(type: string, config: unknown): Record<string, unknown> {
    const t = this.types.get(type);
    if (!t) throw badParam('type', `no resource type ${JSON.stringify(type)} (known: ${[...this.types.keys()].join(', ')})`);
    const checked = checkSchema(t.params, config);
    // the type's own checks (a URL that is no URL, ...): an instance made and closed at once opens nothing
    void t.create(checked, this.log).close();
    return checked;
  }

  /** Makes the node's instances match the cluster's resources. */
  apply(records: readonly ResourceRecord[]): void {
    const wanted = new Set(records.map((r) => r.id));
    for (const [id, l] of this.live) {
      if (!wanted.has(id)) this.drop(id, l);
    }
    for (const r of records) {
      const config = JSON.stringify(r.config);
      const l = this.live.get(r.id);
      if (l && l.config === config) continue;
      if (l) this.drop(r.id, l);
      const t = this.types.get(r.type);
      if (!t) {
        this.log.warn({ resource: r.id, type: r.type }, 'resource of an unknown type: not instantiated');
        continue;
      }
      try {
        this.live.set(r.id, { config, instance: t.create(r.config, this.log) });
      } catch (err) {
        const why = err instanceof ParamError ? err.message : (err as Error).message;
        this.log.warn({ resource: r.id, err: why }, 'could not instantiate a resource');
      }
    }
  }

  get(id: string): ResourceInstance | undefined {
    return this.live.get(id)?.instance;
  }

  /** Each instance (or `id`'s) health-checked now, in parallel; a resource this node could not instantiate is not alive. */
  async status(ids: readonly string[]): Promise<ResourceStatusRow[]> {
    return Promise.all(
      ids.map(async (id) => {
        const l = this.live.get(id);
        let alive = false;
        if (l) {
          try {
            alive = await l.instance.healthCheck();
          } catch {
            alive = false;
          }
        }
        return { id, is_alive: alive };
      }),
    );
  }

  /** The ids of the resources instantiated here. */
  ids(): string[] {
    return [...this.live.keys()];
  }

  close(): void {
    for (const [id, l] of this.live) this.drop(id, l);
  }

  private drop(id: string, l: Live): void {
    this.live.delete(id);
    const failed = (err: unknown): void => this.log.warn({ resource: id, err: (err as Error).message }, 'resource close failed');
    // closed at once (an action holding it sees that and looks the new one up), a close that is async awaited aside
    try {
      void Promise.resolve(l.instance.close()).catch(failed);
    } catch (err) {
      failed(err);
    }
  }
}
