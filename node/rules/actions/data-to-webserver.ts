import type { ActionHost, ActionInstance, ActionType, ParamsSchema, Selected } from '../contracts.js';
import { checkSchema } from '../params-check.js';
import { WebHookResource } from '../resource-types/web-hook.js';
import { hasPlaceholder, template, type Template } from './template.js';

/**
 * EMQX's `data_to_webserver` action (emqx_web_hook_actions): one HTTP request per event
 * through a `web_hook` resource's pooled, kept-alive connections (at most its pool_size
 * sockets, so a burst queues on them rather than opening one per message). The path is
 * appended to the resource's URL; path, header values and body are `${field}` templates,
 * an empty body is the selected data as JSON. A connection error, a timeout or an answer
 * other than 2xx rejects: the engine counts it as the action's failure.
 */

const text = (en: string, zh: string = en) => ({ en, zh });

const PARAMS: ParamsSchema = {
  $resource: { type: 'string', required: true, title: text('Resource ID', '资源 ID'), description: text('Bind a resource to this action', '给动作绑定一个资源') },
  method: {
    type: 'string',
    enum: ['POST', 'DELETE', 'PUT', 'GET'],
    default: 'POST',
    title: text('Method'),
    description: text('HTTP Method.\nNote that: the Body option in the Action will be discarded in case of GET or DELETE method.', 'HTTP Method。\n注意：当方法为 GET 或 DELETE 时，动作中的 Body 选项会被忽略。'),
  },
  path: { type: 'string', required: false, default: '', title: text('Path'), description: text('The path part of the URL, support using ${Var} to get the field value output by the rule.', 'URL 的路径部分，支持使用 ${Var} 获取规则输出的字段值。\n') },
  headers: { type: 'object', schema: {}, default: { 'content-type': 'application/json' }, title: text('Headers'), description: text('HTTP headers.', 'HTTP headers。') },
  body: {
    type: 'string',
    required: false,
    default: '',
    title: text('Body'),
    description: text(
      'The HTTP body supports the use of ${Var} to obtain the field value output by the rule.\nThe content of the default HTTP request body is a JSON string composed of the keys and values of all fields output by the rule.',
      'HTTP 请求体，支持使用 ${Var} 获取规则输出的字段值\n默认 HTTP 请求体的内容为规则输出的所有字段的键和值构成的 JSON 字符串。',
    ),
  },
};

/** A header: name and value templates (EMQX normalises names: lower case, `_` as `-`). */
type HeaderTemplate = [string, Template, boolean];

class DataToWebServer implements ActionInstance {
  private resource: WebHookResource;
  private readonly constantHeaders: Record<string, string> | undefined;

  constructor(
    private readonly host: ActionHost,
    private readonly resourceId: string,
    private readonly method: string,
    private readonly path: Template,
    private readonly headers: readonly HeaderTemplate[],
    private readonly body: Template | undefined,
  ) {
    this.resource = resourceOf(host, resourceId);
    this.constantHeaders = headers.every(([, , constant]) => constant) ? this.headersFor({}, {}) : undefined;
  }

  async run(selected: Selected, envs: Selected): Promise<void> {
    // a resource whose config changed is a new instance: pick it up
    if (this.resource.closed) this.resource = resourceOf(this.host, this.resourceId);
    const r = this.resource;
    const withBody = this.method === 'POST' || this.method === 'PUT';
    const body = withBody ? (this.body ? this.body(selected, envs) : JSON.stringify(selected)) : undefined;
    const headers = this.constantHeaders ?? this.headersFor(selected, envs);
    const answer = await r.send(this.method, r.pathOf(this.path(selected, envs)), headers, body);
    if (answer.status < 200 || answer.status >= 300) throw new Error(`HTTP request failed with status code ${answer.status}`);
  }

  private headersFor(selected: Selected, envs: Selected): Record<string, string> {
    const cfg = this.resource.cfg;
    // the resource's headers and content type first, the action's over them
    const out: Record<string, string> = { 'content-type': cfg.contentType, ...cfg.headers };
    for (const [k, v] of this.headers) out[k] = v(selected, envs);
    if (this.method === 'GET' || this.method === 'DELETE') delete out['content-type'];
    return out;
  }
}

function resourceOf(host: ActionHost, id: string): WebHookResource {
  const r = host.resource(id);
  if (!r) throw new Error(`resource ${id} not found on ${host.nodeName}`);
  if (!(r instanceof WebHookResource)) throw new Error(`resource ${id} is not a web_hook resource`);
  return r;
}

export const dataToWebserverAction: ActionType = {
  name: 'data_to_webserver',
  for: '$any',
  app: 'emqx_web_hook',
  types: ['web_hook'],
  title: text('Data to Web Server', '发送数据到 Web 服务'),
  description: text('Forward Messages to Web Server', '将数据转发给 Web 服务'),
  params: PARAMS,
  create(params, host) {
    const p = checkSchema(PARAMS, params, 'params');
    const headers: HeaderTemplate[] = [];
    for (const [k, v] of Object.entries(p.headers as Record<string, unknown>)) {
      if (typeof v !== 'string') throw new Error(`bad parameter params.headers.${k}: must be a string`);
      headers.push([k.toLowerCase().replaceAll('_', '-'), template(v), !hasPlaceholder(v)]);
    }
    const body = p.body as string;
    return new DataToWebServer(host, p.$resource as string, p.method as string, template(p.path as string), headers, body === '' ? undefined : template(body));
  },
};
