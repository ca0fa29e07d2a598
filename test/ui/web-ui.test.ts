/**
 * The Temporal Web UI that `mlops start` serves, in headless Chromium (Debian's package, driven by playwright-core),
 * as a user sees it during a profile restore: the workflows in the list with their status, the restore's history with
 * its activities, its page turning Completed without a reload, a signal and a terminate sent from the UI reaching the
 * workflow. Screenshots of the views go to test-results/ui/. Without Chromium or a built UI the test fails: it never
 * skips.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { Client, Connection } from '@temporalio/client';
import { awsClients } from '../recovery/harness';
import { studio } from '../recovery/studio';
import { eventually } from '../recovery/drive';
import { cli, emulatedSleep, freshDataDir, stackEnv, startStack, type RunningStack } from '../foundation/running-stack';

const ROOT = join(__dirname, '..', '..');
const SHOTS = join(ROOT, 'test-results', 'ui');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let env: NodeJS.ProcessEnv;
let stack: RunningStack;
let ui: string;
let browser: Browser;
let page: Page;
let connection: Connection;
let client: Client;
let codec: Server;
/** The requests the UI made to the user's codec server (MLOPS_UI_CODEC_ENDPOINT): path and X-Namespace. */
const codecCalls: string[] = [];

/** A codec server as users run one, here passing payloads through unchanged; the browser calls it across origins. */
function startCodecServer(): Promise<string> {
  codec = createServer((req, res) => {
    res.setHeader('access-control-allow-origin', '*');
    res.setHeader('access-control-allow-methods', 'POST, OPTIONS');
    res.setHeader('access-control-allow-headers', 'content-type, x-namespace, authorization, authorization-extras');
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      codecCalls.push(`${req.url} ${String(req.headers['x-namespace'])}`);
      res.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
  });
  return new Promise((resolve) => codec.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(codec.address() as AddressInfo).port}`)));
}

const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });
const enc = encodeURIComponent;

beforeAll(async () => {
  // Preconditions a CI run must meet: said plainly, as failures.
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (.ci/run installs it), or set CHROMIUM_PATH`);
  if (!existsSync(join(ROOT, 'ui', 'build', 'index.html'))) throw new Error('the Web UI is not built: npm run build:ui (the install runs it)');
  mkdirSync(SHOTS, { recursive: true });
  env = { ...(await stackEnv(freshDataDir('web-ui'))), MLOPS_UI_CODEC_ENDPOINT: await startCodecServer() };
  [stack, browser] = await Promise.all([startStack(env), chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-dev-shm-usage'] })]);
  ui = stack.banner.parts['web-ui']!;
  expect(ui).toBe(`http://127.0.0.1:${env.MLOPS_UI_PORT}`);
  page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  connection = await Connection.connect({ address: `127.0.0.1:${env.MLOPS_TEMPORAL_PORT}` });
  client = new Client({ connection });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await connection?.close();
  codec?.close();
  stack?.child.kill('SIGINT');
  if (stack) await stack.exited;
});

describe('the Web UI of mlops start during a profile restore', () => {
  const emulator = () => `http://127.0.0.1:${env.MLOPS_EMULATOR_PORT}`;
  const cloud = () => studio({ aws: awsClients(emulator()), endpoint: emulator(), sleep: emulatedSleep });
  const profileId = 'recovery/uidom/user-profile/ann';
  const restoreId = `${profileId}/restore/1`;
  const status = async () => {
    const r = cli(env, 'recovery', 'status', 'uidom/ann', '--json');
    if (r.status !== 0) throw new Error(r.stderr);
    return JSON.parse(r.stdout) as { homes: { domainId: string; efsId: string; homeUid: string }[]; restores: { status: string }[] };
  };
  const statusBadge = (text: string) => page.locator('main').getByText(text, { exact: true }).first();

  // One test, step by step: the stack helper stops its processes after each test.
  it('lists the workflows with their status; shows the restore\'s activities and its completion live; signals and terminates from the UI', async () => {
    // The UI on the port mlops start printed, with the list of workflows and their status.
    const dom = await cloud().createDomain('uidom');
    const grant = cli(env, 'recovery', 'grant-access', '--efs-id', dom.efsId, '--security-group', await cloud().mountTargetGroup(dom.efsId), '--json');
    expect(grant.status, grant.stderr).toBe(0);
    await cloud().create(dom, 'user-profile', 'ann');
    await eventually('ann\'s first home to be recorded', async () => ((await status()).homes.length === 1 ? true : undefined), 60_000, 250);
    await emulatedSleep(3 * 60_000);
    const oldUid = await cloud().homeUid(dom, 'user-profile', 'ann');
    await cloud().writeFile(dom.efsId, `/${oldUid}/notes.md`, 'seen in the web ui', Number(oldUid));
    // The copy takes a (emulated) day, so the restore is still running while the browser looks at it.
    const scenario = await cloud().control('POST', '/scenarios', { service: 'datasync', kind: 'task-execution', resource: '*', durationsMs: { TRANSFERRING: 24 * 3600_000 } });
    expect(scenario.status).toBeLessThan(300);
    await cloud().remove(dom, 'user-profile', 'ann');
    await cloud().create(dom, 'user-profile', 'ann');
    await eventually('the copy to be running', async () => ((await cloud().control<{ runningExecutions: number }>('GET', '/services/datasync/stats')).body.runningExecutions > 0 ? true : undefined), 120_000, 200);

    await page.goto(`${ui}/namespaces/default/workflows`);
    const restoreRow = page.locator('tr', { hasText: restoreId });
    await restoreRow.waitFor({ timeout: 60_000 });
    await expect.poll(() => restoreRow.innerText(), { timeout: 30_000 }).toContain('Running');
    const profileRow = page.locator('tr', { has: page.getByText(profileId, { exact: true }) });
    await expect.poll(() => profileRow.first().innerText(), { timeout: 30_000 }).toContain('Running');
    await shot('workflow-list');

    // The restore's history with its activities; its page turns Completed without a reload.
    await page.goto(`${ui}/namespaces/default/workflows/${enc(restoreId)}`);
    await page.locator('[data-testid="workflow-id-heading"]').waitFor({ timeout: 60_000 });
    await statusBadge('Running').waitFor({ timeout: 30_000 });
    await expect.poll(() => page.locator('main').innerText(), { timeout: 60_000 }).toMatch(/Activity Task (Scheduled|Started|Completed)/);
    await expect.poll(() => page.locator('main').innerText(), { timeout: 30_000 }).toContain('waitForHomeDirectory');
    await shot('restore-history-running');
    await page.locator('a[href$="/pending-activities"]:visible').first().click();
    await expect.poll(() => page.locator('main').innerText(), { timeout: 30_000 }).toContain('followTransfer');
    await shot('restore-pending-activities');
    await page.locator('a[href$="/history"]:visible').first().click();
    await page.waitForURL(/\/history/);
    // A mark on this document: a reload would lose it.
    const marker = await page.evaluate(() => ((globalThis as unknown as { sameDocument: number }).sameDocument = Date.now()));

    // The emulated day passes: the copy ends, the restore cleans up and completes; the open page follows it.
    const advanced = await cloud().control('POST', '/clock', { advanceSeconds: 24 * 3600 + 60 });
    expect(advanced.status).toBeLessThan(300);
    await statusBadge('Completed').waitFor({ timeout: 150_000 });
    expect(await page.evaluate(() => (globalThis as unknown as { sameDocument?: number }).sameDocument)).toBe(marker);
    await expect.poll(() => page.locator('main').innerText(), { timeout: 30_000 }).toContain('Workflow Execution Completed');
    await shot('restore-history-completed');
    expect((await client.workflow.getHandle(restoreId).describe()).status.name).toBe('COMPLETED');
    // The payloads shown were decoded by the user's codec server, from the browser.
    expect(codecCalls).toContain('/decode default');

    // Reset is what the embedded server lacks: the UI's Reset button is disabled and says why.
    const reset = page.locator('[data-testid="workflow-reset-button"]:visible');
    expect(await reset.isDisabled()).toBe(true);
    // Its tooltip (shown on hover) tells why.
    await page.locator('div', { has: reset }).getByText('Resetting workflows is not enabled').first().waitFor({ state: 'attached', timeout: 30_000 });
    await shot('reset-not-supported');

    // A signal sent from the UI reaches the profile's workflow.
    const home = (await status()).homes.at(-1)!;
    const report = { domainId: home.domainId, efsId: home.efsId, homeUid: home.homeUid, eventId: 'sent-from-the-web-ui', at: new Date().toISOString(), source: 'lookup' };
    await page.goto(`${ui}/namespaces/default/workflows/${enc(profileId)}`);
    await page.locator('#workflow-actions-menu-button:visible').click({ timeout: 60_000 });
    await page.locator('[data-testid="signal-button"]:visible').click();
    const modal = page.locator('[data-testid="signal-confirmation-modal"]:visible');
    await modal.waitFor();
    // With a worker polling, the UI lists the workflow's signals (its metadata query); otherwise a name is typed.
    const select = modal.locator('[data-testid="signal-select-button"]');
    if (await select.count()) {
      await select.click();
      await page.getByRole('option', { name: /homeReported/ }).first().click();
    } else {
      await modal.locator('#signal-name').fill('homeReported');
    }
    await modal.locator('.cm-content').click();
    await page.keyboard.insertText(JSON.stringify(report));
    await shot('signal-form');
    await modal.getByRole('button', { name: 'Submit' }).click();
    await modal.waitFor({ state: 'hidden', timeout: 30_000 });

    const handle = client.workflow.getHandle(profileId);
    const signaled = await eventually('the signal in the profile\'s history', async () => {
      const events = (await handle.fetchHistory()).events ?? [];
      const i = events.findIndex((e) => e.workflowExecutionSignaledEventAttributes?.signalName === 'homeReported' && Buffer.from(e.workflowExecutionSignaledEventAttributes.input?.payloads?.[0]?.data ?? []).toString().includes('sent-from-the-web-ui'));
      // Handled: a workflow task completed after it.
      return i >= 0 && events.slice(i).some((e) => e.workflowTaskCompletedEventAttributes) ? events[i] : undefined;
    }, 60_000, 500);
    expect(JSON.parse(Buffer.from(signaled.workflowExecutionSignaledEventAttributes!.input!.payloads![0]!.data!).toString())).toEqual(report);
    await expect.poll(() => page.locator('main').innerText(), { timeout: 60_000 }).toContain('Workflow Execution Signaled');
    await shot('profile-history-signaled');

    // A terminate from the UI terminates it.
    await page.goto(`${ui}/namespaces/default/workflows/${enc(profileId)}`);
    await page.locator('#workflow-actions-menu-button:visible').click({ timeout: 60_000 });
    await page.locator('[data-testid="terminate-button"]:visible').click();
    const terminateModal = page.locator('[data-testid="terminate-confirmation-modal"]:visible');
    await terminateModal.locator('#workflow-termination-reason').fill('terminated from the web ui');
    await terminateModal.getByRole('button', { name: 'Terminate' }).click();
    await statusBadge('Terminated').waitFor({ timeout: 60_000 });
    await shot('profile-terminated');
    const d = await client.workflow.getHandle(profileId).describe();
    expect(d.status.name).toBe('TERMINATED');
    const last = (await client.workflow.getHandle(profileId).fetchHistory()).events!.at(-1)!;
    // The UI appends its own note to the reason typed.
    expect(last.workflowExecutionTerminatedEventAttributes?.reason).toMatch(/^terminated from the web ui/);
  }, 600_000);
});
