import { newMessage, type QoS } from '../../../shared/message.js';
import { validTopicName } from '../../../shared/topic.js';
import { newRouteMemo } from '../../router/trie.js';
import type { ActionType, Selected } from '../contracts.js';
import { template, templatePaths } from './template.js';

/** The rule engine's own actions, EMQX 4.x's emqx_rule_actions: inspect, do_nothing, republish. */

export const inspectAction: ActionType = {
  name: 'inspect',
  for: '$any',
  app: 'emqx_rule_engine',
  types: [],
  title: { en: 'Inspect (debug)', zh: '检查 (调试)' },
  description: { en: 'Inspect the details of action params for debug purpose', zh: '检查动作参数 (用以调试)' },
  params: {},
  create(params, host) {
    return {
      // what EMQX prints on its console, into the node's log
      run(selected: Selected, envs: Selected) {
        host.log.info(`[inspect]\n\tSelected Data: ${JSON.stringify(selected)}\n\tEnvs: ${JSON.stringify(envs)}\n\tAction Init Params: ${JSON.stringify(params)}`);
      },
    };
  },
};

export const doNothingAction: ActionType = {
  name: 'do_nothing',
  for: '$any',
  app: 'emqx_rule_engine',
  types: [],
  title: { en: 'Do Nothing (debug)', zh: '空动作 (调试)' },
  description: { en: "This action does nothing and never fails. It's for debug purpose", zh: '此动作什么都不做，并且不会失败 (用以调试)' },
  params: {},
  create() {
    // reads nothing: any run repeats as done
    return { run() {}, reads: [], again: () => true };
  },
};

// The last payload text encoded, and its bytes: several rules republishing one message's
// payload encode it once (messages share payload buffers; nothing writes into one).
let lastText: string | undefined;
let lastBytes: Buffer = Buffer.alloc(0);
function encoded(text: string): Buffer {
  if (text !== lastText) {
    lastText = text;
    lastBytes = Buffer.from(text);
  }
  return lastBytes;
}

const QOS_VALUES = [-1, 0, 1, 2] as const;

export const republishAction: ActionType = {
  name: 'republish',
  for: '$any',
  app: 'emqx_rule_engine',
  types: [],
  title: { en: 'Republish', zh: '消息重新发布' },
  description: { en: 'Republish a MQTT message to another topic', zh: '重新发布消息到另一个主题' },
  params: {
    target_topic: {
      type: 'string',
      required: true,
      default: 'repub/to/${clientid}',
      title: { en: 'Target Topic', zh: '目的主题' },
      description: { en: 'To which topic the message will be republished', zh: '重新发布消息到哪个主题' },
    },
    target_qos: {
      type: 'number',
      required: false,
      default: 0,
      enum: QOS_VALUES,
      title: { en: 'Target QoS', zh: '目的 QoS' },
      description: { en: 'The QoS Level to be uses when republishing the message. Set to -1 to use the original QoS', zh: '重新发布消息时用的 QoS 级别, 设置为 -1 以使用原消息中的 QoS' },
    },
    target_retain: {
      type: 'boolean',
      required: false,
      default: false,
      enum: [true, false],
      title: { en: 'Target Retain', zh: '目标保留消息标识' },
      description: { en: 'The Retain flag to be uses when republishing the message. Set to ${flags.retain} to use the original Retain', zh: '重新发布消息时用的保留消息标识' },
    },
    payload_tmpl: {
      type: 'string',
      required: false,
      default: '${payload}',
      title: { en: 'Payload Template', zh: '消息内容模板' },
      description: { en: 'The payload template, variable interpolation is supported', zh: '消息内容模板，支持变量' },
    },
  },
  create(params, host) {
    if (typeof params.target_topic !== 'string' || params.target_topic === '') throw new Error('republish: target_topic must be a non-empty string');
    const qos = params.target_qos ?? 0;
    if (!QOS_VALUES.includes(qos as never)) throw new Error('republish: target_qos must be one of -1, 0, 1, 2');
    const retain = params.target_retain ?? false;
    if (typeof retain !== 'boolean') throw new Error('republish: target_retain must be a boolean');
    const tmpl = params.payload_tmpl ?? '${payload}';
    if (typeof tmpl !== 'string') throw new Error('republish: payload_tmpl must be a string');
    const topic = template(params.target_topic);
    const topicPaths = templatePaths(params.target_topic);
    const payload = template(tmpl);
    // the last topic found valid: a template giving the same string again is not rescanned
    let valid: string | undefined;
    const routes = newRouteMemo();
    // the target of the last run when nobody would get it (dropped, nothing else done)
    let dropped: string | undefined;
    return {
      run(selected, envs) {
        dropped = undefined;
        const t = topic(selected, envs);
        if (t !== valid) {
          if (!validTopicName(t)) throw new Error(`republish: not a topic name: ${JSON.stringify(t)}`);
          valid = t;
        }
        // nobody subscribed anywhere and nothing watching: counted, no payload rendered, no message built
        if (host.dropIfUnrouted(t, retain, routes)) {
          dropped = t;
          return;
        }
        const q = (qos === -1 ? (envs.qos ?? 0) : qos) as QoS;
        host.publish(newMessage({ topic: t, payload: encoded(payload(selected, envs)), qos: q, retain, from: String(envs.clientid ?? host.nodeName), fromUsername: undefined }));
      },
      // only a drop repeats (what a publish would carry depends on more): the target is the same
      reads: topicPaths,
      again: () => dropped !== undefined && host.dropIfUnrouted(dropped, retain, routes),
    };
  },
};
