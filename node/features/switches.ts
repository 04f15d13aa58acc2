/**
 * The features that are a switch in one of the node's parts: the retainer (the retained
 * store's flag, read once per retained PUBLISH and per SUBSCRIBE), delayed publish (read only
 * for `$`-topics), presence (a hooks subscriber: nothing when off) and the management API
 * (always on).
 */
import type { DelayedPublish } from '../router/delayed.js';
import type { RetainedStore } from '../router/retained.js';
import type { Presence } from '../sys/presence.js';
import type { Feature } from './feature.js';

/** emqx_management: the node answers the management API over RPC; it cannot be switched off. */
export function managementFeature(): Feature {
  return {
    active: true,
    load() {},
    unload() {
      throw new Error('emqx_management cannot be unloaded: the management API reaches the node through it');
    },
    reload() {},
  };
}

/** A feature whose state is one of the node's parts' own: `isOn` reads it, `on` and `off` switch it. */
function partSwitch(isOn: () => boolean, on: () => void, off: () => void): Feature {
  return {
    get active() {
      return isOn();
    },
    load: on,
    unload: off,
  };
}

/** emqx_retainer / emqx_mod_retainer: retained messages stored and served on this node. */
export function retainerFeature(retained: RetainedStore): Feature {
  return partSwitch(
    () => retained.enabled,
    () => void (retained.enabled = true),
    () => void (retained.enabled = false),
  );
}

/** emqx_delayed_publish / emqx_mod_delayed: `$delayed/<seconds>/<topic>` published after the delay. */
export function delayedFeature(delayed: DelayedPublish): Feature {
  return partSwitch(
    () => delayed.active,
    () => delayed.resume(),
    () => delayed.pause(),
  );
}

/** emqx_mod_presence: $SYS client connected/disconnected events. */
export function presenceFeature(presence: Presence): Feature {
  return partSwitch(
    () => presence.enabled,
    () => presence.enable(),
    () => presence.disable(),
  );
}
