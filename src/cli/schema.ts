import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigSchema } from '../config/schema.js';

/** The JSON Schema editors use to complete and check vigil YAML files. */
export function jsonSchemaText(): string {
  return `${JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#', $id: 'https://vigil.dev/schema/vigil.schema.json', ...ConfigSchema }, null, 2)}\n`;
}

export function schemaCommand(): Command {
  return new Command('schema')
    .description('Print the configuration JSON Schema (for editors), or write it to a file.')
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action((opts: { output?: string }) => {
      const text = jsonSchemaText();
      if (!opts.output) return void process.stdout.write(text);
      let current = '';
      try {
        current = readFileSync(opts.output, 'utf8');
      } catch {
        // A missing file is simply written.
      }
      if (current !== text) writeFileSync(opts.output, text);
    });
}
