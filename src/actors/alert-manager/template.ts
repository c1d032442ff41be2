import { AlertTemplate } from '../../templates/prometheus.js';

/** What a template can refer to: `{{ $value }}`, `{{ $labels.name }}`, and Prometheus' functions (`humanize`, `printf`...). */
export interface TemplateData {
  value: number;
  labels: Record<string, string>;
}

/** Rule templates come from config: parsed once per distinct text. */
const compiled = new Map<string, AlertTemplate>();

/** Expands a Prometheus-style alert template; an error renders inside the text, as Prometheus does. */
export function expandTemplate(text: string, data: TemplateData): string {
  let template = compiled.get(text);
  if (!template) {
    try {
      template = new AlertTemplate(text);
    } catch (err) {
      // Config checks reject such templates; this only guards templates that bypass them.
      return `<error expanding template: ${(err as Error).message}>`;
    }
    compiled.set(text, template);
  }
  return template.expand(data);
}

/** Expands every value of a template map, e.g. a rule's annotations. */
export function expandTemplates(templates: Record<string, string> | undefined, data: TemplateData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, text] of Object.entries(templates ?? {})) out[key] = expandTemplate(text, data);
  return out;
}
