import { expandAlertTemplate } from '../promql/index.js';

/** Templates shared by alert annotations and runbook parameters. What a template can refer to: `{{ $value }}`, `{{ $labels.name }}`, and Prometheus' functions (`humanize`, `printf`...). */
export interface TemplateData {
  value: number;
  labels: Record<string, string>;
}

/** Expands a Prometheus-style alert template; an error renders inside the text, as Prometheus does. */
export function expandTemplate(text: string, data: TemplateData): string {
  return expandAlertTemplate('annotation', text, { Labels: data.labels, Value: data.value, ExternalLabels: {}, ExternalURL: '' });
}

/** Expands every value of a template map, e.g. a rule's annotations. */
export function expandTemplates(templates: Record<string, string> | undefined, data: TemplateData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, text] of Object.entries(templates ?? {})) out[key] = expandTemplate(text, data);
  return out;
}
