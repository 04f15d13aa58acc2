/** The brokers resource on this node (GET /api/v4/brokers...): basic information. */
import type { BrokerRow } from '../../shared/api/brokers.js';
import type { RpcHandlers } from '../../shared/rpc.js';
import { formatDatetime, formatUptime } from '../../shared/time-format.js';
import { OTP_RELEASE, SYSDESCR, VERSION } from '../../shared/version.js';
import type { Broker } from '../broker.js';

export function brokerRow(b: Broker): BrokerRow {
  return {
    version: VERSION,
    uptime: formatUptime(Date.now() - b.startedAt),
    sysdescr: SYSDESCR,
    otp_release: OTP_RELEASE,
    node_status: b.stopping ? 'Stopping' : 'Running',
    node: b.nodeName,
    datetime: formatDatetime(Date.now()),
  };
}

export function brokersHandlers(b: Broker): Pick<RpcHandlers, 'brokers.get'> {
  return { 'brokers.get': () => brokerRow(b) };
}
