import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEmailNotifier, emailMessage } from '../../src/actors/notifier/email/email.js';
import type { Notification } from '../../src/actors/notifier/notify.js';
import { freePort } from '../helpers/servers.js';
import { acknowledged, ctx, EXTERNAL_URL, firing, firingAlert, resolved } from './notifier-channels.fixtures.js';

const PASSWORD = 'smtp-pa55-secret';

/** What the SMTP server saw of one message. */
interface Received {
  from: string;
  to: string[];
  secure: boolean;
  user: string | undefined;
  mail: ParsedMail;
}

interface SmtpPeer {
  port: number;
  received: Received[];
  logins: { username: string; password: string }[];
}

let tlsFiles: { key: string; cert: string };
beforeAll(() => {
  // A throwaway certificate for 127.0.0.1, trusted by the client through the notifier's `tls.ca`.
  const dir = mkdtempSync(join(tmpdir(), 'vigil-smtp-tls-'));
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  tlsFiles = { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
});

const servers: (SMTPServer | TcpServer)[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

/** A real SMTP server on a free loopback port that parses every message it accepts. */
async function startSmtpServer(options: SMTPServerOptions = {}): Promise<SmtpPeer> {
  const received: Received[] = [];
  const logins: SmtpPeer['logins'] = [];
  const server = new SMTPServer({
    key: tlsFiles.key,
    cert: tlsFiles.cert,
    authOptional: true,
    allowInsecureAuth: true,
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push({ username: auth.username ?? '', password: auth.password ?? '' });
      if (auth.password !== PASSWORD) return callback(smtpError('Invalid username or password', 535));
      callback(null, { user: auth.username });
    },
    onData(stream, session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push({
            mail,
            secure: session.secure,
            user: session.user as string | undefined,
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
          });
          callback();
        })
        .catch(callback);
    },
    ...options,
  });
  servers.push(server);
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, received, logins };
}

type SmtpOptions = { tls?: 'starttls' | 'tls' | 'none'; username?: string; password?: string; timeout?: string };

function email(port: number, smtp: SmtpOptions = {}, extra: { to?: string[]; templates?: { subject?: string; text?: string; html?: string } } = {}) {
  return createEmailNotifier(
    {
      name: 'ops-mail',
      kind: 'email',
      send_resolved: true,
      from: 'Vigil <vigil@alerts.example>',
      to: extra.to ?? ['ops@example.com'],
      smtp: { host: '127.0.0.1', port, tls: smtp.tls ?? 'none', timeout: smtp.timeout ?? '2s', ...(smtp.username ? { username: smtp.username, password: smtp.password ?? PASSWORD } : {}) },
      ...(extra.templates ? { templates: extra.templates } : {}),
    },
    { externalURL: EXTERNAL_URL, baseDir: '/', tls: { ca: tlsFiles.cert } },
  );
}

describe('email notifier', () => {
  it('delivers subject, plain-text and HTML parts to `to` and the recipients', async () => {
    const peer = await startSmtpServer();
    const notification: Notification = { ...firing, recipients: [{ name: 'Alice', email: 'alice@example.com' }, { name: 'Bob', slack: 'U1' }, { name: 'Ops again', email: 'ops@example.com' }] };
    expect(await email(peer.port).notifier.send(notification, ctx)).toEqual({ ok: true });
    expect(peer.received).toHaveLength(1);
    const [{ mail, from, to }] = peer.received as [Received];
    expect(from).toBe('vigil@alerts.example');
    expect(to).toEqual(['ops@example.com', 'alice@example.com']);
    expect(mail.subject).toBe('[FIRING] HighCPU db-1');
    expect(mail.text).toContain('CPU above 90%\ndb-1 has been busy for 10 minutes');
    expect(mail.text).toContain('Severity: critical');
    expect(mail.text).toContain('Value:    97.5');
    expect(mail.text).toContain('acknowledge: `vigil alerts ack c0ffee0123456789` or POST http://vigil.example/api/v1/alerts/c0ffee0123456789/ack');
    expect(mail.html).toContain('<h2 style="border-left: 6px solid #D32F2F; padding-left: 8px">[FIRING] HighCPU db-1</h2>');
    expect(mail.html).toContain('<tr><th align="left">instance</th><td>db-1</td></tr>');
    expect(mail.html).toContain(`<a href="${firingAlert.generatorURL}">Source</a>`);
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
  });

  it('derives the Message-ID from the delivery id and threads a group by one reference', async () => {
    const peer = await startSmtpServer();
    const { notifier } = email(peer.port);
    await notifier.send(firing, ctx);
    await notifier.send(acknowledged, { ...ctx, deliveryId: 'dlv-5678' });
    await notifier.send(resolved, { ...ctx, deliveryId: 'dlv-9abc' });
    const mails = peer.received.map((r) => r.mail);
    expect(mails.map((m) => m.messageId)).toEqual(['<dlv-1234@alerts.example>', '<dlv-5678@alerts.example>', '<dlv-9abc@alerts.example>']);
    const thread = mails[0]?.inReplyTo;
    expect(thread).toMatch(/^<vigil-group-[0-9a-f]{32}@alerts\.example>$/);
    expect(mails.map((m) => [m.inReplyTo, m.references])).toEqual(mails.map(() => [thread, thread]));
    expect(mails.map((m) => m.subject)).toEqual(['[FIRING] HighCPU db-1', '[ACKNOWLEDGED] HighCPU db-1', '[RESOLVED] HighCPU db-1']);
    expect(mails[1]?.text).toContain('Acknowledged by alice at 2024-05-01T10:05:00.000Z');
    expect(mails[2]?.text).not.toContain('vigil alerts ack');
  });

  it('HTML-escapes every label and annotation value', async () => {
    const peer = await startSmtpServer();
    const hostile = { ...firingAlert, labels: { ...firingAlert.labels, instance: '<img src=x onerror=alert(1)>', team: 'a&b "quoted"' }, annotations: { summary: '<script>steal()</script>', description: "it's <b>bad</b>" } };
    await email(peer.port).notifier.send({ ...firing, alerts: [hostile] }, ctx);
    const html = peer.received[0]?.mail.html || '';
    expect(html).not.toMatch(/<img|<script|<b>bad/);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;script&gt;steal()&lt;/script&gt;');
    expect(html).toContain('<td>a&amp;b &quot;quoted&quot;</td>');
    expect(html).toContain('it&#39;s &lt;b&gt;bad&lt;/b&gt;');
    // The plain-text part shows them as written.
    expect(peer.received[0]?.mail.text).toContain('<script>steal()</script>');
  });

  it('uses template overrides', async () => {
    const peer = await startSmtpServer();
    const templates = { subject: 'ALERT {{ $labels.severity }}: {{ $summary }}', text: 'see {{ $alert_url }}', html: '<p>{{ $labels.instance }}</p>' };
    await email(peer.port, {}, { templates }).notifier.send(firing, ctx);
    const { mail } = peer.received[0] as Received;
    expect(mail.subject).toBe('ALERT critical: CPU above 90%');
    expect(mail.text?.trim()).toBe('see http://vigil.example/api/v1/alerts/c0ffee0123456789');
    expect(mail.html).toBe('<p>db-1</p>');
  });

  it('upgrades with STARTTLS and logs in with the secret password', async () => {
    const peer = await startSmtpServer({ allowInsecureAuth: false });
    const { notifier, target } = email(peer.port, { tls: 'starttls', username: 'vigil' });
    expect(await notifier.send(firing, ctx)).toEqual({ ok: true });
    expect(peer.received[0]).toMatchObject({ secure: true, user: 'vigil' });
    expect(peer.logins).toEqual([{ username: 'vigil', password: PASSWORD }]);
    expect(target).toBe(`smtp://127.0.0.1:${peer.port}`);
  });

  it('reads the password from a secret file', async () => {
    const peer = await startSmtpServer();
    const dir = mkdtempSync(join(tmpdir(), 'vigil-smtp-secret-'));
    writeFileSync(join(dir, 'smtp-password'), `${PASSWORD}\n`);
    const { notifier } = createEmailNotifier(
      { name: 'm', kind: 'email', send_resolved: true, from: 'vigil@alerts.example', to: ['ops@example.com'], smtp: { host: '127.0.0.1', port: peer.port, tls: 'none', timeout: '2s', username: 'vigil', password: { file: 'smtp-password' } } },
      { externalURL: EXTERNAL_URL, baseDir: dir },
    );
    expect(await notifier.send(firing, ctx)).toEqual({ ok: true });
    expect(peer.logins).toEqual([{ username: 'vigil', password: PASSWORD }]);
  });

  it('speaks TLS from the first byte in tls mode', async () => {
    const peer = await startSmtpServer({ secure: true });
    expect(await email(peer.port, { tls: 'tls' }).notifier.send(firing, ctx)).toEqual({ ok: true });
    expect(peer.received[0]?.secure).toBe(true);
  });

  it('refuses to send in clear when starttls is required and the server refuses it (5xx: for good)', async () => {
    const peer = await startSmtpServer({ disabledCommands: ['STARTTLS'] });
    const result = await email(peer.port, { tls: 'starttls' }).notifier.send(firing, ctx);
    expect(result).toEqual({ ok: false, retryable: false, error: 'ETLS: Error upgrading connection with STARTTLS: 500 Error: command not recognized' });
    expect(peer.received).toHaveLength(0);
  });

  it('sends in clear and never tries STARTTLS in none mode', async () => {
    const peer = await startSmtpServer();
    expect(await email(peer.port, { tls: 'none' }).notifier.send(firing, ctx)).toEqual({ ok: true });
    expect(peer.received[0]?.secure).toBe(false);
  });

  it.each([
    { stage: 'RCPT', code: 450, retryable: true },
    { stage: 'RCPT', code: 550, retryable: false },
    { stage: 'DATA', code: 451, retryable: true },
    { stage: 'DATA', code: 452, retryable: true },
    { stage: 'DATA', code: 552, retryable: false },
    { stage: 'DATA', code: 554, retryable: false },
  ])('SMTP $code at $stage → retryable $retryable', async ({ stage, code, retryable }) => {
    const refuse = (callback: (err: Error) => void) => callback(smtpError(`refused with ${code}`, code));
    const peer = await startSmtpServer(
      stage === 'RCPT'
        ? { onRcptTo: (_address, _session, callback) => refuse(callback) }
        : { onData: (stream, _session, callback) => stream.on('end', () => refuse(callback)).resume() },
    );
    const result = await email(peer.port).notifier.send(firing, ctx);
    expect(result).toMatchObject({ ok: false, retryable, error: expect.stringContaining(`${code} refused with ${code}`) });
  });

  it('does not retry a wrong password, and never shows the password', async () => {
    const peer = await startSmtpServer();
    const result = await email(peer.port, { username: 'vigil', password: 'wrong-pa55-secret' }).notifier.send(firing, ctx);
    expect(result).toMatchObject({ ok: false, retryable: false, error: expect.stringMatching(/^EAUTH: .*535/) });
    expect(JSON.stringify(result)).not.toContain('wrong-pa55-secret');
  });

  it('retries a refused connection and a server that never greets', async () => {
    const closedPort = await freePort();
    expect(await email(closedPort).notifier.send(firing, ctx)).toMatchObject({ ok: false, retryable: true, error: expect.stringContaining('ECONNREFUSED') });
    const silent = createTcpServer(() => {});
    servers.push(silent);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const started = Date.now();
    const result = await email((silent.address() as AddressInfo).port, { timeout: '100ms' }).notifier.send(firing, ctx);
    expect(result).toMatchObject({ ok: false, retryable: true, error: expect.stringContaining('ETIMEDOUT') });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('fails for good when nobody is to receive it', async () => {
    const peer = await startSmtpServer();
    expect(await email(peer.port, {}, { to: [] }).notifier.send(firing, ctx)).toMatchObject({ ok: false, retryable: false });
    expect(peer.received).toHaveLength(0);
  });
});

describe('email message', () => {
  it('mints ids under a bare sender address too', () => {
    const message = emailMessage(firing, { from: 'alerts@corp.example', to: ['a@b.c'] }, 'dlv-1', EXTERNAL_URL);
    expect(message.messageId).toBe('<dlv-1@corp.example>');
  });
});
