// The navigation, in order. There is no retained-messages page: the v4 API has no
// endpoint for retained messages, and the dashboard uses nothing but the public API.
import type { JSX } from 'preact';
import { Alarms } from './alarms/index.js';
import { Apps } from './apps/index.js';
import { Banned } from './banned/index.js';
import { Clients } from './clients/index.js';
import { Modules } from './modules/index.js';
import { Overview } from './overview/index.js';
import { Plugins } from './plugins/index.js';
import { Routes } from './routes/index.js';
import { Resources } from './resources/index.js';
import { Rules } from './rules/index.js';
import { Subscriptions } from './subscriptions/index.js';
import { TopicMetricsPage } from './topic-metrics/index.js';

export interface PageDef {
  path: string;
  title: string;
  /** `sub`: the hash path below the page's (#/clients/<id> gives ['<id>']) */
  view: (p: { sub: string[] }) => JSX.Element;
}

export const PAGES: PageDef[] = [
  { path: 'overview', title: 'Overview', view: Overview },
  { path: 'clients', title: 'Clients', view: Clients },
  { path: 'subscriptions', title: 'Subscriptions', view: Subscriptions },
  { path: 'routes', title: 'Topics', view: Routes },
  { path: 'rules', title: 'Rules', view: Rules },
  { path: 'resources', title: 'Resources', view: Resources },
  { path: 'plugins', title: 'Plugins', view: Plugins },
  { path: 'modules', title: 'Modules', view: Modules },
  { path: 'alarms', title: 'Alarms', view: Alarms },
  { path: 'banned', title: 'Banned', view: Banned },
  { path: 'apps', title: 'Apps', view: Apps },
  { path: 'topic-metrics', title: 'Topic metrics', view: TopicMetricsPage },
];
