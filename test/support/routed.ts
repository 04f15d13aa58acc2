import type { TestClient } from './mqtt-clients.js';

/**
 * Resolves once a QoS 0 probe from `pub` reaches `sub`: the subscription's route has reached
 * the publisher's node. Only the last probe is waited for, so no earlier one is still on
 * its way (a connection's messages are routed and forwarded in order) when counting starts.
 */
export async function routed(pub: TestClient, sub: TestClient, topic: string): Promise<void> {
  for (let i = 0; ; i++) {
    const from = sub.mark();
    await pub.publish(topic, `probe-${i}`, { qos: 0 });
    try {
      await sub.waitForMessages(1, { filter: (m) => m.payload === `probe-${i}`, from, timeoutMs: 200 });
      return;
    } catch {
      if (i > 50) throw new Error(`${topic} never routed from ${pub.label} to ${sub.label}`);
    }
  }
}

