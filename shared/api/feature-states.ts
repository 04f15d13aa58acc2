/**
 * The state of the node's switchable features (plugins and modules: GET /api/v4/plugins,
 * /modules) as cluster configuration: config kind 'feature_states'
 * (shared/cluster/config-kinds.ts). A record says a feature is loaded or unloaded, on one
 * node (`scope` its name: a per-node load or unload) or on every node (`scope` '*': a
 * cluster-wide module load or unload). A node's effective state for a feature is its own
 * node's record, else the '*' record, else the catalog's default (node/features/registry.ts).
 */

/** The scope of a record that applies to every node. */
export const CLUSTER_SCOPE = '*';

export interface FeatureStateRecord {
  /** the feature's id (node/features/catalog.ts), shared by its plugin and module entries */
  feature: string;
  /** a node name, or CLUSTER_SCOPE */
  scope: string;
  active: boolean;
}

/** The FeatureStateRecord in `v` (fields copied, extras dropped), or undefined if it is not one. */
export function asFeatureState(v: unknown): FeatureStateRecord | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.feature !== 'string' || r.feature === '' || typeof r.scope !== 'string' || r.scope === '' || typeof r.active !== 'boolean') return undefined;
  return { feature: r.feature, scope: r.scope, active: r.active };
}

/** The store's key: `<scope>/<feature>` (neither a node name nor a feature id holds a slash). */
export function featureStateKey(scope: string, feature: string): string {
  return `${scope}/${feature}`;
}
