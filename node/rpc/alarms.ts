import { CODE } from '../../shared/result-codes.js';
import { RpcError, type RpcHandlers } from '../../shared/rpc.js';
import { thresholdsFault } from '../alarms/monitors.js';
import type { Broker } from '../broker.js';

type AlarmMethods = 'alarms.list' | 'alarms.deactivate' | 'alarms.clearDeactivated' | 'alarms.configure';

/** The alarms resource on this node (GET/POST/DELETE /api/v4/alarms...), and its monitors' thresholds. */
export function alarmsHandlers(b: Broker): Pick<RpcHandlers, AlarmMethods> {
  return {
    'alarms.list': ({ which }) => b.alarms.list(which),
    'alarms.deactivate': ({ name }) => b.alarms.deactivate(name),
    'alarms.clearDeactivated': () => b.alarms.clearDeactivated(),
    'alarms.configure': (changes) => {
      const fault = thresholdsFault({ ...b.alarmMonitors.thresholds, ...changes });
      if (fault) throw new RpcError(CODE.BAD_PARAM, `alarms.configure: ${fault}`);
      return b.alarmMonitors.configure(changes);
    },
  };
}
