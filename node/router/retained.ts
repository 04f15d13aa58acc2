import type { Message } from '../../shared/message.js';

/**
 * Retained messages by topic name, in a level tree so a subscription filter (with `+`
 * and `#`) finds its retained messages without scanning every topic.
 */
interface RNode {
  children: Map<string, RNode> | undefined;
  msg: Message | undefined;
}

export class RetainedStore {
  private readonly root: RNode = { children: undefined, msg: undefined };
  private count = 0;
  /**
   * Whether this node's retainer is loaded (plugin emqx_retainer): off, a retained PUBLISH
   * here is not stored (delivered as any other message) and subscribers here get no retained
   * messages; the replica keeps following the cluster, so loading it again serves them again.
   */
  enabled = true;

  constructor(private readonly onCount: (n: number) => void = () => {}) {}

  get size(): number {
    return this.count;
  }

  /** Stores a retained message; an empty payload deletes the topic's message [MQTT-3.3.1-10]. */
  set(msg: Message): void {
    if (msg.payload.length === 0) return void this.delete(msg.topic);
    let node = this.root;
    for (const level of msg.topic.split('/')) {
      node.children ??= new Map();
      let next = node.children.get(level);
      if (!next) node.children.set(level, (next = { children: undefined, msg: undefined }));
      node = next;
    }
    if (!node.msg) this.onCount(++this.count);
    node.msg = msg;
  }

  get(topic: string): Message | undefined {
    let node: RNode | undefined = this.root;
    for (const level of topic.split('/')) {
      node = node.children?.get(level);
      if (!node) return undefined;
    }
    return node.msg;
  }

  delete(topic: string): boolean {
    const path: [RNode, string][] = [];
    let node: RNode | undefined = this.root;
    for (const level of topic.split('/')) {
      path.push([node, level]);
      node = node.children?.get(level);
      if (!node) return false;
    }
    if (!node.msg) return false;
    node.msg = undefined;
    this.onCount(--this.count);
    for (let i = path.length - 1; i >= 0; i--) {
      const [parent, level] = path[i]!;
      const child = parent.children!.get(level)!;
      if (child.msg || (child.children && child.children.size > 0)) break;
      parent.children!.delete(level);
    }
    return true;
  }

  /**
   * Retained messages whose topic matches a filter (none while the retainer is unloaded);
   * expired ones are dropped on the way. Walked with a stack of its own rather than by
   * recursion: topics and filters may have 32,768 levels, deeper than the call stack goes.
   */
  match(filter: string, now = Date.now()): Message[] {
    const out: Message[] = [];
    if (!this.enabled) return out;
    const levels = filter.split('/');
    // (node, level index); children are pushed in reverse so they are visited in order
    const stack: [RNode, number][] = [[this.root, 0]];
    while (stack.length > 0) {
      const [node, i] = stack.pop()!;
      if (i === levels.length) {
        if (node.msg) this.push(node.msg, out, now);
        continue;
      }
      const level = levels[i]!;
      if (level === '#') {
        this.collect(node, out, now, i === 0);
        continue;
      }
      if (!node.children) continue;
      if (level === '+') {
        const children = [...node.children];
        for (let k = children.length - 1; k >= 0; k--) {
          const [name, child] = children[k]!;
          if (i === 0 && name.startsWith('$')) continue; // [MQTT-4.7.2-1]
          stack.push([child, i + 1]);
        }
      } else {
        const child = node.children.get(level);
        if (child) stack.push([child, i + 1]);
      }
    }
    return out;
  }

  /** `#` at this point: the node itself (the parent level) and every descendant, in order. */
  private collect(top: RNode, out: Message[], now: number, atRoot: boolean): void {
    if (top.msg && !atRoot) this.push(top.msg, out, now);
    const stack: RNode[] = [];
    const pushChildren = (node: RNode, skipDollar: boolean): void => {
      if (!node.children) return;
      const children = [...node.children];
      for (let k = children.length - 1; k >= 0; k--) {
        const [name, child] = children[k]!;
        if (skipDollar && name.startsWith('$')) continue;
        stack.push(child);
      }
    };
    pushChildren(top, atRoot);
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.msg) this.push(node.msg, out, now);
      pushChildren(node, false);
    }
  }

  private push(msg: Message, out: Message[], now: number): void {
    if (msg.expiresAt !== undefined && msg.expiresAt <= now) this.delete(msg.topic);
    else out.push(msg);
  }

  *all(): Generator<Message> {
    const stack: RNode[] = [this.root];
    while (stack.length) {
      const n = stack.pop()!;
      if (n.msg) yield n.msg;
      if (n.children) for (const c of n.children.values()) stack.push(c);
    }
  }
}
