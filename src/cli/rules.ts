import { Command } from 'commander';
import { duplicateRules, loadRuleFile, RuleFileError } from '../prom-rules/rule-file.js';
import { runRuleTests } from '../prom-rules/unit-test.js';
import { print } from './format.js';

/** `vigil test rules` and `vigil check rules`: promtool's rule commands, run in-process. */
export function testCommand(): Command {
  const test = new Command('test').description('Unit-test rules.');
  test.addCommand(
    new Command('rules')
      .description('Run Prometheus rule unit tests (promtool test rules format: input_series, alert_rule_test, promql_expr_test). Exits 1 when any fails.')
      .argument('<files...>', 'unit-test files; their rule_files are relative to each file')
      .action((files: string[]) => {
        let failed = 0;
        for (const file of files) {
          const result = runRuleTests(file);
          print(`Unit Testing: ${file}`);
          if (result.passed) print('  SUCCESS\n');
          else {
            failed++;
            print(`${result.failures.join('\n')}\n`);
          }
        }
        if (failed) process.exitCode = 1;
      }),
  );
  return test;
}

export function checkCommand(): Command {
  const check = new Command('check').description('Check files for errors.');
  check.addCommand(
    new Command('rules')
      .description('Check Prometheus rule files: YAML, PromQL, templates, and duplicate rules (a lint, exit 0). Exits 1 on errors.')
      .argument('<files...>', 'rule files')
      .action((files: string[]) => {
        let failed = 0;
        for (const file of files) {
          try {
            const rules = loadRuleFile(file);
            const count = rules.groups.reduce((n, g) => n + g.rules.length, 0);
            print(`Checking ${file}\n  SUCCESS: ${count} rules found`);
            for (const lint of duplicateRules(rules)) print(`  lint error: ${lint}`);
          } catch (err) {
            if (!(err instanceof RuleFileError)) throw err;
            failed++;
            print(`Checking ${file}\n  FAILED:\n${err.problems.map((p) => `    ${p}`).join('\n')}`);
          }
        }
        if (failed) process.exitCode = 1;
      }),
  );
  return check;
}
