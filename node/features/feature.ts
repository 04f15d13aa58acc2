/**
 * A switchable part of a node: what EMQX shows as a plugin (GET /api/v4/plugins) or a
 * module (GET /api/v4/modules). The feature registry (node/features/registry.ts) lists the
 * catalog's entries, switches them on API request and keeps their state in the cluster
 * config; a feature only knows how to turn itself on and off.
 *
 * load() and unload() are called only when the state changes (the registry answers "already
 * loaded/unloaded" itself) and may be async (a web hook checks its URL, an ACL file is read).
 * They throw to refuse, with a message the API shows. A feature attaches to the node through
 * node/core/hooks.ts or the parts it was built with, and detaches all of it on unload: an
 * unloaded feature costs the publish path nothing.
 */
export interface Feature {
  /** whether it is on now */
  readonly active: boolean;
  load(): void | Promise<void>;
  unload(): void | Promise<void>;
  /** re-reads its configuration while loaded (EMQX: only emqx_mod_acl_internal has it); absent: reload is unload + load */
  reload?(): void | Promise<void>;
}
