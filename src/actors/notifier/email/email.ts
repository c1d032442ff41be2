import type { ConnectionOptions } from 'node:tls';
import nodemailer, { type NodemailerError, type SendMailOptions } from 'nodemailer';
import { readSecret } from '../../../config/load.js';
import type { ReceiverConfig } from '../../../config/schema.js';
import { parseDuration } from '../../../series/duration.js';
import { redact } from '../http.js';
import type { Integration, Notification, SendResult } from '../notify.js';
import { escapeHtml, groupHash, groupKeyOf, renderLine, renderTemplate, templateVars, withDefaults } from '../templates.js';

type EmailReceiver = Extract<ReceiverConfig, { kind: 'email' }>;

/** `html` values are HTML-escaped; `text` and `subject` are plain. */
export const EMAIL_TEMPLATES = {
  subject: '[{{ $status }}] {{ $rule }} {{ $resource }}',
  text: `{{ $summary }}
{{ $description }}

Status:   {{ $status }}
Severity: {{ $severity }}
Resource: {{ $resource }}
Value:    {{ $value }}
{{ $acknowledgement }}

Alerts:
{{ $alerts }}

Labels: {{ $labels }}
Source: {{ $source_url }}
In Vigil: {{ $alert_url }}
{{ $ack_hint }}
`,
  html: `<!doctype html>
<html><body style="font-family: sans-serif">
<h2 style="border-left: 6px solid {{ $colour }}; padding-left: 8px">[{{ $status }}] {{ $rule }} {{ $resource }}</h2>
<p><strong>{{ $summary }}</strong></p>
<p>{{ $description }}</p>
<table>
<tr><th align="left">Severity</th><td>{{ $severity }}</td></tr>
<tr><th align="left">Resource</th><td>{{ $resource }}</td></tr>
<tr><th align="left">Value</th><td>{{ $value }}</td></tr>
</table>
<p>{{ $acknowledgement }}</p>
{{ $alerts_html }}
<h3>Labels</h3>
{{ $labels_html }}
<p><a href="{{ $source_url }}">Source</a> · <a href="{{ $alert_url }}">Alert in Vigil</a></p>
<p><small>{{ $ack_hint }}</small></p>
</body></html>
`,
};

/** The domain Message-IDs are minted under: the sender's, so they are unique to this installation. */
function messageIdDomain(from: string): string {
  return /@([^\s>]+)/.exec(from)?.[1] ?? 'vigil.localhost';
}

/**
 * The message for a notification. Its Message-ID is the delivery id, so a resent attempt is the same
 * message to mail systems that drop duplicates; every message of a group refers to one group id, so mail
 * clients thread a group's firing, acknowledged and resolved mails together.
 */
export function emailMessage(notification: Notification, receiver: Pick<EmailReceiver, 'from' | 'to' | 'templates'>, deliveryId: string, externalURL: string): SendMailOptions {
  const templates = withDefaults(EMAIL_TEMPLATES, receiver.templates);
  const vars = templateVars(notification, externalURL);
  const domain = messageIdDomain(receiver.from);
  const thread = `<vigil-group-${groupHash(groupKeyOf(notification))}@${domain}>`;
  const to = [...new Set([...receiver.to, ...(notification.recipients ?? []).flatMap((r) => (r.email ? [r.email] : []))])];
  return {
    from: receiver.from,
    to,
    subject: renderLine(templates.subject, vars),
    // An empty variable leaves a blank line; more than one in a row says nothing.
    text: renderTemplate(templates.text, vars).replace(/\n{3,}/g, '\n\n'),
    html: renderTemplate(templates.html, vars, escapeHtml),
    messageId: `<${deliveryId}@${domain}>`,
    inReplyTo: thread,
    references: [thread],
    // Auto-Submitted keeps vacation responders from answering an alert.
    headers: { 'Auto-Submitted': 'auto-generated', 'X-Vigil-Delivery-Id': deliveryId },
  };
}

/**
 * SMTP replies decide when there is one: 4xx is temporary, 5xx permanent (nodemailer's `permanent`, which
 * counts 503 "bad sequence" as temporary). Without a reply, a broken or slow connection is worth another
 * try; a message or configuration the server can never take is not.
 */
export function isRetryableSmtpError(err: NodemailerError): boolean {
  if (err.responseCode !== undefined) return err.permanent === undefined ? err.responseCode < 500 : !err.permanent;
  return !['EAUTH', 'ENOAUTH', 'EENVELOPE', 'EMESSAGE', 'ECONFIG', 'EMAXRECIPIENTS'].includes(err.code ?? '');
}

export interface EmailDeps {
  externalURL: string;
  baseDir: string;
  /** Extra TLS options, such as a private CA that signed the SMTP server's certificate. */
  tls?: ConnectionOptions;
}

/** Sends HTML and plain-text email over SMTP with nodemailer. */
export function createEmailNotifier(receiver: EmailReceiver, deps: EmailDeps): Pick<Integration, 'target' | 'notifier'> {
  const { smtp } = receiver;
  const password = smtp.password === undefined ? undefined : readSecret(smtp.password, deps.baseDir);
  const timeoutMs = parseDuration(smtp.timeout);
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.tls === 'tls',
    // starttls: refuse to send in clear if the server does not offer STARTTLS (or someone stripped it).
    requireTLS: smtp.tls === 'starttls',
    ignoreTLS: smtp.tls === 'none',
    ...(smtp.username !== undefined ? { auth: { user: smtp.username, pass: password ?? '' } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    dnsTimeout: timeoutMs,
    ...(deps.tls ? { tls: deps.tls } : {}),
  });
  return {
    target: `smtp://${smtp.host}:${smtp.port}`,
    notifier: {
      async send(notification, ctx): Promise<SendResult> {
        const message = emailMessage(notification, receiver, ctx.deliveryId, deps.externalURL);
        if (!(message.to as string[]).length) return { ok: false, retryable: false, error: 'no recipients: set `to` or route to people with an email' };
        try {
          await transport.sendMail(message);
          return { ok: true };
        } catch (err) {
          const error = err as NodemailerError;
          return { ok: false, retryable: isRetryableSmtpError(error), error: redact(`${error.code ?? 'SMTP'}: ${error.message}`, password ? [password] : []) };
        }
      },
    },
  };
}
