import { describe, expect, it } from 'vitest';
import {
  escapeHtml,
  groupHash,
  groupKeyOf,
  groupSeverity,
  notificationKind,
  renderLine,
  renderTemplate,
  templateVars,
  withDefaults,
} from '../../src/actors/notifier/templates.js';
import { acknowledged, EXTERNAL_URL, firing, firingAlert, resolved } from './notifier-channels.fixtures.js';

describe('notification templates', () => {
  it('exposes the notification as variables', () => {
    const vars = templateVars(firing, EXTERNAL_URL);
    expect(vars).toMatchObject({
      status: 'FIRING',
      rule: 'HighCPU',
      severity: 'critical',
      resource: 'db-1',
      value: '97.5',
      fingerprint: 'c0ffee0123456789',
      firing: '1',
      resolved: '0',
      summary: 'CPU above 90%',
      description: 'db-1 has been busy for 10 minutes',
      source_url: firingAlert.generatorURL,
      alert_url: 'http://vigil.example/api/v1/alerts/c0ffee0123456789',
      ack_hint: 'acknowledge: `vigil alerts ack c0ffee0123456789` or POST http://vigil.example/api/v1/alerts/c0ffee0123456789/ack',
      'labels.instance': 'db-1',
      'annotations.summary': 'CPU above 90%',
    });
    expect(templateVars(resolved, EXTERNAL_URL)).toMatchObject({ status: 'RESOLVED', firing: '0', resolved: '1', ack_hint: '' });
    expect(templateVars(acknowledged, EXTERNAL_URL)).toMatchObject({ status: 'ACKNOWLEDGED', acknowledged_by: 'alice', acknowledged_at: '2024-05-01T10:05:00.000Z' });
  });

  it('describes a group by what its alerts share, and lists every alert', () => {
    const other = { ...firingAlert, fingerprint: 'f2', labels: { ...firingAlert.labels, instance: 'db-2', severity: 'warning' }, value: 0.1 + 0.2 };
    const vars = templateVars({ ...firing, alerts: [firingAlert, other] }, EXTERNAL_URL);
    expect(vars.resource).toBe('db-1, db-2');
    expect(vars['labels.instance']).toBeUndefined();
    expect(vars.severity).toBe('critical');
    expect(vars.ack_hint).toContain('vigil alerts ack <fingerprint>');
    expect(vars.alerts.split('\n')).toEqual([
      '[FIRING] db-1 (value 97.5) CPU above 90% — c0ffee0123456789',
      '[FIRING] db-2 (value 0.3) CPU above 90% — f2',
    ]);
  });

  it('expands placeholders, blanks missing labels and leaves unknown names visible', () => {
    const vars = templateVars(firing, EXTERNAL_URL);
    expect(renderTemplate('{{ $labels.instance }}/{{$labels.nope}}/{{ $nope }}/{{ $value }}', vars)).toBe('db-1//{{ $nope }}/97.5');
    expect(renderLine('[{{ $status }}]  {{ $labels.nope }}  {{ $rule }}\n', vars)).toBe('[FIRING] HighCPU');
  });

  it('escapes substituted values but not the template or _html variables', () => {
    const hostile = { ...firing, alerts: [{ ...firingAlert, labels: { ...firingAlert.labels, instance: '<b>"x" & y</b>' } }] };
    const vars = templateVars(hostile, EXTERNAL_URL);
    expect(renderTemplate('<p>{{ $resource }}</p>', vars, escapeHtml)).toBe('<p>&lt;b&gt;&quot;x&quot; &amp; y&lt;/b&gt;</p>');
    expect(renderTemplate('{{ $alerts_html }}', vars, escapeHtml)).toContain('<li>[FIRING] &lt;b&gt;');
  });

  it('uses the defaults unless the receiver overrides a template', () => {
    expect(withDefaults({ title: 'T', text: 'X' }, { text: 'mine', title: undefined })).toEqual({ title: 'T', text: 'mine' });
    expect(withDefaults({ title: 'T' }, undefined)).toEqual({ title: 'T' });
  });

  it('tells firing, acknowledged and resolved apart and picks the worst firing severity', () => {
    expect([firing, acknowledged, resolved].map(notificationKind)).toEqual(['firing', 'acknowledged', 'resolved']);
    const warning = { ...firingAlert, labels: { severity: 'warning' } };
    const resolvedCritical = { ...firingAlert, status: 'resolved' as const };
    expect(groupSeverity({ ...firing, alerts: [warning, resolvedCritical] })).toBe('warning');
    expect(groupSeverity({ ...firing, alerts: [{ ...firingAlert, labels: { severity: 'INFO' } }] })).toBe('info');
    expect(groupSeverity({ ...firing, alerts: [{ ...firingAlert, labels: {} }] })).toBe('error');
  });

  it('keys groups stably, falling back to the alert when routing set no group', () => {
    expect(groupKeyOf(firing)).toBe(firing.groupKey);
    const { groupKey: _none, ...ungrouped } = firing;
    expect(groupKeyOf(ungrouped)).toBe('{}/c0ffee0123456789');
    expect(groupHash(groupKeyOf(firing))).toBe(groupHash(groupKeyOf(resolved)));
    expect(groupHash('a')).toMatch(/^[0-9a-f]{32}$/);
    expect(groupHash('a')).not.toBe(groupHash('b'));
  });
});
