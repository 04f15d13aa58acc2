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

  /** Retained messages whose topic matches a filter (none while the retainer is unloaded); expired ones are dropped on the way. */
  match(filter: string, now = Date.now()): Message[] {
    const out: Message[] = [];
    if (!this.enabled) return out;
    this.walk(this.root, filter.split('/'), 0, out, now);
    return out;
  }

  private walk(node: RNode, levels: string[], i: number, out: Message[], now: number): void {
    if (i === levels.length) {
      if (node.msg) this.push(node.msg, out, now);
      return;
    }
    const level = levels[i]!;
    if (level === '#') {
      this.collect(node, out, now, i === 0);
      return;
    }
    if (!node.children) return;
    if (level === '+') {
      for (const [name, child] of node.children) {
        if (i === 0 && name.startsWith('$')) continue; // [MQTT-4.7.2-1]
        this.walk(child, levels, i + 1, out, now);
      }
    } else {
      const child = node.children.get(level);
      if (child) this.walk(child, levels, i + 1, out, now);
    }
  }

  /** `#` at this point: the node itself (the parent level) and every descendant. */
  private collect(node: RNode, out: Message[], now: number, atRoot: boolean): void {
    if (node.msg && !atRoot) this.push(node.msg, out, now);
    if (!node.children) return;
    for (const [name, child] of node.children) {
      if (atRoot && name.startsWith('$')) continue;
      this.collect(child, out, now, false);
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
