import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSlackNotifier, slackMention, slackMessage } from '../../src/actors/notifier/slack/slack.js';
import { STATUS_COLOURS } from '../../src/actors/notifier/templates.js';
import type { Notification } from '../../src/actors/notifier/notify.js';
import { freePort } from '../helpers/servers.js';
import { startWebhookReceiver, type Reply, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { acknowledged, ctx, EXTERNAL_URL, firing, firingAlert, resolved } from './notifier-channels.fixtures.js';

const deps = { externalURL: EXTERNAL_URL, baseDir: '/' };
const TOKEN_PATH = '/services/T000/B000/XXXXsecretXXXX';

let receiver: WebhookReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

async function slackPeer(reply?: Reply): Promise<{ peer: WebhookReceiver; webhookURL: string }> {
  receiver = await startWebhookReceiver(reply);
  return { peer: receiver, webhookURL: receiver.url.replace('/hook', TOKEN_PATH) };
}

function slack(url: string, extra: { channel?: string; timeout?: string; templates?: { title?: string; text?: string } } = {}) {
  return createSlackNotifier({ name: 'team-slack', kind: 'slack', url, timeout: '2s', send_resolved: true, ...extra }, deps);
}

type Message = ReturnType<typeof slackMessage>;
const allText = (message: Message) => JSON.stringify(message);

describe('slack message', () => {
  it('has a header, a coloured attachment with the details, links and an ack hint', () => {
    const message = slackMessage(firing, { channel: '#ops' }, EXTERNAL_URL);
    expect(message.channel).toBe('#ops');
    expect(message.text).toBe('[FIRING] HighCPU db-1');
    expect(message.blocks[0]).toEqual({ type: 'header', text: { type: 'plain_text', text: '[FIRING] HighCPU db-1', emoji: true } });
    const [attachment] = message.attachments;
    expect(attachment?.color).toBe(STATUS_COLOURS.critical);
    expect(attachment?.blocks).toEqual([
      { type: 'section', text: { type: 'mrkdwn', text: 'CPU above 90%\ndb-1 has been busy for 10 minutes' } },
      {
        type: 'section',
        fields: [
          { type: 'mrkdwn', text: '*Severity*\ncritical' },
          { type: 'mrkdwn', text: '*Resource*\ndb-1' },
          { type: 'mrkdwn', text: '*Value*\n97.5' },
          { type: 'mrkdwn', text: '*Alerts*\n1 firing' },
        ],
      },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: '<http://prometheus.example/graph?g0.expr=cpu|Source>  ·  <http://vigil.example/api/v1/alerts/c0ffee0123456789|Alert in Vigil>' }],
      },
      {
        type: 'context',
        elements: [{ type: 'mrkdwn', text: 'acknowledge: `vigil alerts ack c0ffee0123456789` or POST http://vigil.example/api/v1/alerts/c0ffee0123456789/ack' }],
      },
    ]);
  });

  it.each([
    { severity: 'critical', colour: '#D32F2F' },
    { severity: 'warning', colour: '#F57C00' },
    { severity: 'info', colour: '#1976D2' },
  ])('colours a firing $severity alert $colour', ({ severity, colour }) => {
    const notification = { ...firing, alerts: [{ ...firingAlert, labels: { ...firingAlert.labels, severity } }] };
    expect(slackMessage(notification, {}, EXTERNAL_URL).attachments[0]?.color).toBe(colour);
  });

  it('is green when resolved, without an ack hint', () => {
    const message = slackMessage(resolved, {}, EXTERNAL_URL);
    expect(message.attachments[0]?.color).toBe('#2E7D32');
    expect(message.text).toBe('[RESOLVED] HighCPU db-1');
    expect(allText(message)).not.toContain('vigil alerts ack');
  });

  it('says who acknowledged', () => {
    const message = slackMessage(acknowledged, {}, EXTERNAL_URL);
    expect(message.text).toBe('[ACKNOWLEDGED] HighCPU db-1');
    expect(message.attachments[0]?.color).toBe(STATUS_COLOURS.acknowledged);
    expect(allText(message)).toContain('Acknowledged by *alice* at <!date^1714557900^{date_short_pretty} {time}|2024-05-01T10:05:00.000Z>');
    expect(allText(message)).not.toContain('vigil alerts ack');
  });

  it('mentions the recipients by Slack id', () => {
    const notification: Notification = { ...firing, recipients: [{ name: 'Alice', slack: 'U024BE7LH' }, { name: 'Bob', email: 'bob@example.com' }, { name: 'SRE', slack: '@S0614TZR7' }, { name: 'Carol', slack: '@carol' }] };
    const message = slackMessage(notification, {}, EXTERNAL_URL);
    expect(message.text).toBe('[FIRING] HighCPU db-1 <@U024BE7LH> <!subteam^S0614TZR7> @carol');
    expect(message.blocks[1]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: 'cc <@U024BE7LH> <!subteam^S0614TZR7> @carol' } });
    expect(slackMention('W123ABC')).toBe('<@W123ABC>');
  });

  it('escapes label and annotation values for mrkdwn, so they cannot forge links or mentions', () => {
    const hostile = { ...firingAlert, labels: { ...firingAlert.labels, instance: '<!channel> & <http://evil|click>' }, annotations: { summary: '<@U999> a > b' } };
    const message = slackMessage({ ...firing, alerts: [hostile] }, {}, EXTERNAL_URL);
    const text = allText(message);
    expect(text).toContain('&lt;!channel&gt; &amp; &lt;http://evil|click&gt;');
    expect(text).toContain('&lt;@U999&gt; a &gt; b');
    expect(message.text).toBe('[FIRING] HighCPU &lt;!channel&gt; &amp; &lt;http://evil|click&gt;');
    // The header is plain text: shown as written, nothing to escape.
    expect(message.blocks[0]).toMatchObject({ text: { type: 'plain_text', text: '[FIRING] HighCPU <!channel> & <http://evil|click>' } });
  });

  it('lists each alert of a group', () => {
    const other = { ...firingAlert, fingerprint: 'f2', status: 'resolved' as const, labels: { ...firingAlert.labels, instance: 'db-2' } };
    const message = slackMessage({ ...firing, alerts: [firingAlert, other] }, {}, EXTERNAL_URL);
    expect(allText(message)).toContain('• [FIRING] db-1 (value 97.5) CPU above 90% — c0ffee0123456789\\n• [RESOLVED] db-2 (value 97.5) CPU above 90% — f2');
    expect(allText(message)).toContain('*Alerts*\\n1 firing, 1 resolved');
  });

  it('uses the receiver\'s templates when given', () => {
    const message = slackMessage(firing, { templates: { title: '{{ $labels.severity }}: {{ $rule }}', text: 'on *{{ $labels.instance }}*' } }, EXTERNAL_URL);
    expect(message.text).toBe('critical: HighCPU');
    expect(message.attachments[0]?.blocks[0]).toEqual({ type: 'section', text: { type: 'mrkdwn', text: 'on *db-1*' } });
  });
});

describe('slack notifier', () => {
  it('POSTs the message as JSON to the webhook URL and shows only the host as target', async () => {
    const { peer, webhookURL } = await slackPeer(() => ({ status: 200, body: 'ok' }));
    const { target, notifier } = slack(webhookURL, { channel: '#ops' });
    expect(await notifier.send(firing, ctx)).toEqual({ ok: true });
    expect(peer.requests).toHaveLength(1);
    const [request] = peer.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe(TOKEN_PATH);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.json).toEqual(slackMessage(firing, { channel: '#ops' }, EXTERNAL_URL));
    expect(target).toBe(`${new URL(webhookURL).origin} #ops`);
    expect(target).not.toContain('secret');
  });

  it('reads the webhook URL from a secret file', async () => {
    const { peer, webhookURL } = await slackPeer();
    const dir = mkdtempSync(join(tmpdir(), 'vigil-slack-'));
    writeFileSync(join(dir, 'slack-url'), `${webhookURL}\n`);
    const notifier = createSlackNotifier({ name: 's', kind: 'slack', url: { file: 'slack-url' }, timeout: '2s', send_resolved: true }, { ...deps, baseDir: dir });
    expect(await notifier.notifier.send(firing, ctx)).toEqual({ ok: true });
    expect(peer.requests[0]?.path).toBe(TOKEN_PATH);
  });

  it.each([
    { status: 500, body: 'internal error', retryable: true },
    { status: 503, body: 'service unavailable', retryable: true },
    { status: 429, body: 'rate_limited', retryable: true },
    { status: 400, body: 'invalid_blocks', retryable: false },
    { status: 403, body: 'action_prohibited', retryable: false },
    { status: 404, body: 'channel_not_found', retryable: false },
    { status: 410, body: 'channel_is_archived', retryable: false },
  ])('answers $status $body → retryable $retryable', async ({ status, body, retryable }) => {
    const { webhookURL } = await slackPeer(() => ({ status, body }));
    expect(await slack(webhookURL).notifier.send(firing, ctx)).toEqual({ ok: false, retryable, error: `HTTP ${status}: ${body}` });
  });

  it('never puts the webhook URL into an error, even when the peer echoes it', async () => {
    const { webhookURL } = await slackPeer((_n, request) => ({ status: 404, body: `no hook at ${request.path}` }));
    const result = await slack(webhookURL).notifier.send(firing, ctx);
    expect(result).toEqual({ ok: false, retryable: false, error: 'HTTP 404: no hook at [redacted]' });
  });

  it('retries when Slack refuses the connection or does not answer in time', async () => {
    const port = await freePort();
    const refused = await slack(`http://127.0.0.1:${port}${TOKEN_PATH}`).notifier.send(firing, ctx);
    expect(refused).toMatchObject({ ok: false, retryable: true, error: expect.stringContaining('ECONNREFUSED') });
    expect(JSON.stringify(refused)).not.toContain('secret');
    const { webhookURL } = await slackPeer(() => ({ status: 200, delayMs: 2_000 }));
    expect(await slack(webhookURL, { timeout: '50ms' }).notifier.send(firing, ctx)).toEqual({ ok: false, retryable: true, error: 'timed out after 50ms' });
  });
});
