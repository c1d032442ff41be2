/** Templates shared by alert annotations and runbook parameters. What a template can refer to: `{{ $value }}` and `{{ $labels.name }}`. */
export interface TemplateData {
  value: number;
  labels: Record<string, string>;
}

const PLACEHOLDER = /\{\{\s*\$(value|labels\.([a-zA-Z_][a-zA-Z0-9_]*))\s*\}\}/g;

/**
 * Expands the subset of Prometheus alert templates Vigil supports. A missing label renders empty;
 * any other `{{ ... }}` is left as written, so an unsupported template is visible rather than lost.
 */
export function expandTemplate(text: string, data: TemplateData): string {
  if (!text.includes('{{')) return text;
  return text.replace(PLACEHOLDER, (_whole, _expr: string, label: string | undefined) =>
    label === undefined ? String(data.value) : (data.labels[label] ?? ''),
  );
}

/** Expands every value of a template map, e.g. a rule's annotations. */
export function expandTemplates(templates: Record<string, string> | undefined, data: TemplateData): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, text] of Object.entries(templates ?? {})) out[key] = expandTemplate(text, data);
  return out;
}
