// The web dashboard in headless Chromium against a real 3-node cluster and a gateway
// process, with real MQTT clients: login (a wrong secret refused), the overview's nodes and
// live charts, a client found and kicked through the UI, a plugin unloaded on one node, a
// rule created through the UI republishing real traffic (a bad SQL shown at its position,
// the SQL tested on a sample), a resource listed with its status per node, a killed node named. Screenshots of every page, at desktop and phone width, go to
// test-output/dashboard/ for a person to look at.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { REPO_ROOT } from '../support/broker.js';
import { DESKTOP, launchChromium, PHONE } from '../support/browser.js';
import { fullName, startCluster, type TestCluster } from '../support/cluster.js';
import { api, ok, startGateway, type GatewayProcess } from '../support/gateway.js';
import { closeAllClients, connectClient, tcpUrl, uid } from '../support/mqtt-clients.js';
import { eventually } from '../support/wait.js';

const SHOTS = join(REPO_ROOT, 'test-output', 'dashboard');
let c: TestCluster | undefined;
let gw: GatewayProcess | undefined;
let browser: Browser | undefined;
let page: Page;
let base = '';
/** every URL the page asked for: nothing may leave the gateway */
const requested: string[] = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  c = await startCluster(['n1', 'n2', 'n3']);
  gw = await startGateway(c, { STARLING_DASHBOARD_PORT: '0' });
  base = gw.url;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: DESKTOP });
  page.on('request', (r) => requested.push(r.url()));
});

after(async () => {
  await browser?.close();
  await closeAllClients();
  await gw?.stop();
  await c?.stop();
});

const dash = (hash = ''): string => `${base}/dashboard/${hash}`;

async function shoot(name: string): Promise<void> {
  await page.waitForTimeout(300); // let a poll land and the charts draw
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewportSize(PHONE);
  await page.waitForTimeout(200);
  await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

async function login(appId: string, secret: string): Promise<void> {
  await page.getByLabel('AppID').fill(appId);
  await page.getByLabel('AppSecret').fill(secret);
  await page.getByRole('button', { name: 'Log in' }).click();
}

describe('serving', () => {
  it('index.html is never cached, hashed assets for good; the dashboard port sends / to /dashboard/', async () => {
    const index = await fetch(dash());
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    const html = await index.text();
    const js = /src="(assets\/main-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    assert.ok(js, html);
    const asset = await fetch(dash(js));
    assert.equal(asset.status, 200);
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    assert.ok(gw!.dashboardPort, 'the gateway logs its dashboard port');
    const root = await fetch(`http://127.0.0.1:${gw!.dashboardPort}/`, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/dashboard/');
    const there = await fetch(`http://127.0.0.1:${gw!.dashboardPort}/dashboard/`);
    assert.equal(await there.text(), html);
  });
});

describe('the dashboard in a browser', () => {
  it('refuses a wrong secret, then logs in with the default app', async () => {
    await page.goto(dash());
    await shoot('login');
    await login('admin', 'not-the-secret');
    await page.getByText('Wrong AppID or AppSecret.').waitFor();
    assert.equal(await page.getByRole('navigation', { name: 'Main', exact: true }).count(), 0, 'nothing but the login form without a session');
    await login('admin', 'public');
    await page.getByRole('navigation', { name: 'Main', exact: true }).waitFor();
  });

  it('the overview shows 3 running nodes and its message chart moves when clients publish', async () => {
    await page.goto(dash('#/overview'));
    const rows = page.getByRole('region', { name: 'nodes' }).locator('tbody tr');
    await eventually(async () => assert.equal(await rows.count(), 3));
    for (const n of ['n1', 'n2', 'n3']) await page.getByRole('cell', { name: fullName(n), exact: true }).waitFor();
    assert.equal(await page.getByRole('region', { name: 'nodes' }).getByText('Running').count(), 3);

    const chart = page.locator('figure[data-chart="Messages per second"]');
    const last = async (): Promise<number[]> => ((await chart.getAttribute('data-last')) ?? '').split(',').map(Number);
    const topic = `dash/${uid('t')}`;
    const sub = await connectClient(tcpUrl(c!.node('n1').mqttPort), { clientId: uid('dash-sub') });
    await sub.subscribe(topic, { qos: 0 });
    const pub = await connectClient(tcpUrl(c!.node('n2').mqttPort), { clientId: uid('dash-pub') });
    let publishing = true;
    const loop = (async () => {
      while (publishing) {
        await pub.publish(topic, 'x', { qos: 0 });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      // received and sent per second, cluster-wide, both above zero while the test publishes
      await eventually(async () => {
        const [received, sent] = await last();
        assert.ok(received! > 0 && sent! > 0, `chart at ${String(await last())}`);
      }, 20_000);
    } finally {
      publishing = false;
      await loop;
    }
    // a few samples, so the screenshot shows lines
    await eventually(async () => assert.ok(Number(await chart.getAttribute('data-points')) >= 4), 20_000);
    const conns = Number(await page.locator('figure[data-chart="Connections"]').getAttribute('data-last'));
    assert.ok(conns >= 2, `connections ${conns}`);
    await shoot('overview');
    await sub.end();
    await pub.end();
  });

  it('a connected client is found with the fuzzy search, and kicked through the UI', async () => {
    const id = uid('dash-kick');
    const cl = await connectClient(tcpUrl(c!.node('n2').mqttPort), { clientId: id, reconnectPeriod: 0 });
    await cl.subscribe('dash/kick/#', { qos: 1 });
    await page.goto(dash('#/clients'));
    await page.getByLabel('Client ID contains').fill(id.slice(3, -2));
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('link', { name: id }).waitFor();
    await shoot('clients');
    await page.getByRole('link', { name: id }).click();
    await page.getByRole('region', { name: 'subscriptions' }).getByRole('cell', { name: 'dash/kick/#' }).waitFor();
    await shoot('client');
    await page.getByRole('button', { name: 'Kick' }).click();
    const dialog = page.getByRole('dialog', { name: 'Kick this client?' });
    await dialog.waitFor();
    await page.screenshot({ path: join(SHOTS, 'kick-dialog-desktop.png') });
    // the modal dialog keeps the keyboard: Tab moves between its buttons only
    for (let i = 0; i < 5; i++) {
      await page.keyboard.press('Tab');
      const inside = await page.evaluate(() => document.activeElement === document.body || document.activeElement?.closest('dialog') !== null);
      assert.ok(inside, `focus left the dialog after ${i + 1} Tab(s)`);
    }
    // Escape leaves it be
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.equal(cl.closed, false);
    await page.getByRole('button', { name: 'Kick' }).click();
    await dialog.getByRole('button', { name: 'Kick' }).click();
    await eventually(async () => assert.equal(cl.closed, true, 'the MQTT connection is closed'));
    await eventually(async () => {
      const r = await api(base, 'GET', `/api/v4/clients/${id}`);
      ok(r);
      assert.deepEqual(r.body.data, []);
    });
    await page.getByText('This client is not connected').waitFor();
    await page.goto(dash('#/clients'));
    await page.getByLabel('Client ID contains').fill(id);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No client matches.').waitFor();
  });

  it('a plugin unloaded through the UI is unloaded on that node only', async () => {
    const n2 = fullName('n2');
    const before = await api(base, 'GET', `/api/v4/nodes/${n2}/plugins`);
    ok(before);
    const plugin = (before.body.data as { name: string; active: boolean }[]).find((p) => p.active);
    assert.ok(plugin, 'an active plugin on n2');
    await page.goto(dash('#/plugins'));
    await page.getByRole('button', { name: `unload ${plugin.name} on ${n2}` }).click();
    await page.getByRole('button', { name: `load ${plugin.name} on ${n2}` }).waitFor();
    const on = async (node: string): Promise<boolean> => {
      const r = await api(base, 'GET', `/api/v4/nodes/${node}/plugins`);
      ok(r);
      return (r.body.data as { name: string; active: boolean }[]).find((p) => p.name === plugin.name)!.active;
    };
    await eventually(async () => assert.equal(await on(n2), false, `${plugin.name} unloaded on n2`));
    assert.equal(await on(fullName('n1')), true, `${plugin.name} still loaded on n1`);
    await shoot('plugins');
    await page.getByRole('button', { name: `load ${plugin.name} on ${n2}` }).click();
    await eventually(async () => assert.equal(await on(n2), true));
  });

  it('a rule created through the UI republishes real traffic; its metrics show per node; deleted with a confirmation', async () => {
    const target = `dash/republished/${uid('r')}`;
    const sub = await connectClient(tcpUrl(c!.node('n1').mqttPort), { clientId: uid('rule-sub') });
    await sub.subscribe(target, { qos: 1 });
    const pub = await connectClient(tcpUrl(c!.node('n2').mqttPort), { clientId: uid('rule-pub') });
    await page.goto(dash('#/rules'));
    await page.getByRole('button', { name: 'Create rule' }).click();
    await page.getByLabel('SQL').fill('SELECT payload.v as v, topic FROM "t/#"');
    await page.locator('select[name="add-action"]').selectOption('republish');
    await page.getByRole('button', { name: 'Add action' }).click();
    await page.getByLabel('target_topic').fill(target);
    await page.getByLabel('target_qos').selectOption('1');
    await page.getByLabel('payload_tmpl').fill('${topic}=${v}');
    await page.getByLabel('Description').fill('republish t/# from the dashboard');
    await shoot('rule-create');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('cell', { name: 'republish t/# from the dashboard' }).waitFor();
    const listed = await api(base, 'GET', '/api/v4/rules');
    ok(listed);
    const rule = (listed.body.data as { id: string; description: string; enabled: boolean; actions: { name: string; params: Record<string, unknown> }[] }[]).find((r) => r.description === 'republish t/# from the dashboard');
    assert.ok(rule, 'the rule is stored');
    assert.deepEqual(rule.actions.map((a) => [a.name, a.params.target_topic, a.params.target_qos]), [['republish', target, 1]]);
    // a real publisher's message comes back republished to the real subscriber (once every node runs the rule)
    await eventually(async () => {
      await pub.publish('t/dash/1', JSON.stringify({ v: 42 }), { qos: 1 });
      await sub.waitForMessage((m) => m.topic === target && m.payload === 't/dash/1=42', { timeoutMs: 500 });
    }, 20_000);
    // the list's metrics: matched on the publisher's node, the action's successes
    const row = page.getByRole('row').filter({ hasText: rule.id });
    await eventually(async () => assert.match((await row.textContent()) ?? '', new RegExp(`${fullName('n2')}\\s*[1-9]`)), 20_000);
    await shoot('rules');
    // disable, then enable again through the UI
    await page.getByRole('button', { name: `disable ${rule.id}` }).click();
    await page.getByRole('button', { name: `enable ${rule.id}` }).waitFor();
    const off = await api(base, 'GET', `/api/v4/rules/${encodeURIComponent(rule.id)}`);
    assert.equal(off.body.data.enabled, false);
    await page.getByRole('button', { name: `enable ${rule.id}` }).click();
    await page.getByRole('button', { name: `disable ${rule.id}` }).waitFor();
    // delete: the confirmation first, then it is gone from the cluster
    await page.getByRole('button', { name: `delete ${rule.id}` }).click();
    const dialog = page.getByRole('dialog', { name: `Delete rule ${rule.id}?` });
    await dialog.getByRole('button', { name: 'Delete' }).click();
    await page.getByText('No rules.').waitFor();
    const gone = await api(base, 'GET', `/api/v4/rules/${encodeURIComponent(rule.id)}`);
    assert.equal(gone.status, 404);
    await sub.end();
    await pub.end();
  });

  it('a bad SQL shows the error at its line and column, and nothing is created', async () => {
    const before = await api(base, 'GET', '/api/v4/rules');
    ok(before);
    await page.goto(dash('#/rules'));
    await page.getByRole('button', { name: 'Create rule' }).click();
    await page.getByLabel('SQL').fill('SELECT *\nFROM t/1');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const error = page.locator('#sql-error');
    await error.waitFor();
    assert.match((await error.textContent()) ?? '', /line 2, column 6/);
    const mark = page.getByLabel('line 2, column 6');
    assert.equal(await mark.locator('.sql-line').textContent(), 'FROM t/1');
    assert.equal(await mark.locator('.sql-caret').textContent(), '     ^', 'the caret under column 6');
    assert.equal(await page.getByLabel('SQL').getAttribute('aria-invalid'), 'true');
    await shoot('rule-bad-sql');
    const after = await api(base, 'GET', '/api/v4/rules');
    assert.deepEqual(after.body.data, before.body.data);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('form', { name: 'create a rule' }).waitFor({ state: 'detached' });
  });

  it('the SQL tested against a sample message shows its output, or that it does not match', async () => {
    await page.goto(dash('#/rules'));
    await page.getByRole('button', { name: 'Create rule' }).click();
    await page.getByLabel('SQL').fill('SELECT payload.temp as t, clientid FROM "t/#" WHERE t > 20');
    await page.getByLabel('topic', { exact: true }).fill('t/room');
    await page.getByLabel('clientid', { exact: true }).fill('sensor-7');
    await page.getByLabel('payload', { exact: true }).fill('{"temp": 25}');
    await page.getByRole('button', { name: 'Test SQL' }).click();
    const out = page.getByRole('status', { name: 'test output' });
    await out.getByText('Output').waitFor();
    assert.deepEqual(JSON.parse((await out.locator('pre').textContent()) ?? ''), { t: 25, clientid: 'sensor-7' });
    await shoot('rule-test');
    await page.getByLabel('payload', { exact: true }).fill('{"temp": 5}');
    await page.getByRole('button', { name: 'Test SQL' }).click();
    await out.getByText('SQL Not Match').waitFor();
  });

  it('a resource created through the UI is listed with its status on every node; a rule using it keeps it', async () => {
    const hook = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    try {
      await page.goto(dash('#/resources'));
      await page.getByRole('button', { name: 'Create resource' }).click();
      await page.getByLabel('Resource type').selectOption('web_hook');
      await page.getByLabel('url', { exact: false }).first().fill(url);
      await page.getByLabel('Description').fill('the test hook');
      await page.getByRole('button', { name: 'Create', exact: true }).click();
      const row = page.getByRole('row').filter({ hasText: 'the test hook' });
      await row.waitFor();
      await eventually(async () => assert.equal(await row.getByText('alive', { exact: true }).count(), 3, 'alive on the 3 nodes'), 20_000);
      for (const n of ['n1', 'n2', 'n3']) await row.getByText(fullName(n)).waitFor();
      await shoot('resources');
      const listed = await api(base, 'GET', '/api/v4/resources');
      const id = (listed.body.data as { id: string; description: string }[]).find((r) => r.description === 'the test hook')!.id;
      // a rule bound to it: the API refuses to delete the resource, and the page says why
      const rule = await api(base, 'POST', '/api/v4/rules', { body: { rawsql: 'SELECT * FROM "hook/#"', actions: [{ name: 'data_to_webserver', params: { $resource: id } }] } });
      ok(rule);
      await row.getByRole('button', { name: `delete ${id}` }).click();
      await page.getByRole('dialog', { name: `Delete resource ${id}?` }).getByRole('button', { name: 'Delete' }).click();
      await page.getByRole('status').filter({ hasText: 'is used by rules' }).waitFor();
      ok(await api(base, 'DELETE', `/api/v4/rules/${encodeURIComponent(rule.body.data.id)}`), ['code']);
      await row.getByRole('button', { name: `delete ${id}` }).click();
      await page.getByRole('dialog', { name: `Delete resource ${id}?` }).getByRole('button', { name: 'Delete' }).click();
      await page.getByText('No resources.').waitFor();
    } finally {
      hook.close();
    }
  });

  it('every other page renders (screenshots), the rule engine said to be unavailable while its API is missing', async () => {
    for (const name of ['subscriptions', 'routes', 'modules', 'alarms', 'banned', 'apps', 'topic-metrics']) {
      await page.goto(dash(`#/${name}`));
      await page.locator('main h1').waitFor();
      await page.waitForLoadState('networkidle');
      await shoot(name);
    }
    const rules = await api(base, 'GET', '/api/v4/rules');
    await page.goto(dash('#/rules'));
    if (rules.status === 404) await page.getByText('The rule engine is not available on this cluster.').waitFor();
    else assert.equal(await page.getByText('The rule engine is not available').count(), 0);
  });

  it('navigation is real links, reached with the keyboard; a menu at a phone\'s width', async () => {
    await page.goto(dash('#/overview'));
    await page.getByRole('link', { name: 'Clients' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Clients' }).waitFor();
    assert.equal(await page.getByRole('link', { name: 'Clients' }).getAttribute('aria-current'), 'page');
    // at a phone's width the navigation is a menu behind a button
    await page.setViewportSize(PHONE);
    const menu = page.getByRole('button', { name: 'Menu' });
    assert.equal(await menu.getAttribute('aria-expanded'), 'false');
    assert.equal(await page.getByRole('link', { name: 'Alarms' }).isVisible(), false);
    await menu.click();
    await page.screenshot({ path: join(SHOTS, 'menu-phone.png') });
    await page.getByRole('link', { name: 'Alarms' }).click();
    await page.getByRole('heading', { name: 'Alarms', exact: true }).waitFor();
    assert.equal(await menu.getAttribute('aria-expanded'), 'false', 'the menu closes after a choice');
    await page.setViewportSize(DESKTOP);
  });

  it('with one node killed, the UI names it', async () => {
    await page.goto(dash('#/overview'));
    await page.getByRole('region', { name: 'nodes' }).getByText('Running').first().waitFor();
    await c!.node('n3').kill9();
    const n3 = fullName('n3');
    await page.getByRole('alert').filter({ hasText: n3 }).first().waitFor({ timeout: 20_000 });
    await shoot('node-down');
    await page.goto(dash('#/clients'));
    await page.getByRole('alert').filter({ hasText: n3 }).first().waitFor({ timeout: 20_000 });
  });

  it('logout ends the session, as does its expiry; no request left the gateway', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('AppSecret').waitFor();
    await login('admin', 'public');
    await page.getByRole('navigation', { name: 'Main', exact: true }).waitFor();
    await page.evaluate(() => {
      const s = JSON.parse(sessionStorage.getItem('starling.session')!) as { expires: number };
      sessionStorage.setItem('starling.session', JSON.stringify({ ...s, expires: Date.now() - 1 }));
    });
    await page.reload();
    await page.getByLabel('AppSecret').waitFor();
    const outside = requested.filter((u) => !u.startsWith(`${base}/`));
    assert.deepEqual(outside, []);
  });
});
