import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { checkRuleFile, runUnitTestFile } from '../promql/index.js';


/** `vigil check rules FILE...`: promtool's `check rules`; duplicate rules are a lint, fatal only with --lint-fatal. */
export function checkCommand(): Command {
  const check = new Command('check').description('Check Prometheus-format files.');
  check
    .command('rules')
    .description('Validate Prometheus rule files (groups, rules, PromQL, templates) like `promtool check rules`; exits 1 when one is invalid.')
    .argument('<files...>', 'Prometheus rule files (YAML)')
    .option('--lint <mode>', 'lint to run: duplicate-rules or none', 'duplicate-rules')
    .option('--lint-fatal', 'exit 1 when a lint finds something', false)
    .action((files: string[], opts: { lint: string; lintFatal: boolean }) => {
      let failed = false;
      for (const file of files) {
        process.stdout.write(`Checking ${file}\n`);
        const result = checkRuleFile(file);
        if (result.errors.length > 0) {
          process.stderr.write(`  FAILED:\n${result.errors.map((e) => e.message).join('\n')}\n\n`);
          failed = true;
          continue;
        }
        const rules = result.groups.reduce((n, g) => n + g.rules.length, 0);
        if (opts.lint === 'duplicate-rules' && result.duplicates.length > 0) {
          const list = result.duplicates.map((d) => `Metric: ${d.name}\nLabel(s):\n${Object.entries(d.labels).map(([k, v]) => `\t${k}: ${v}\n`).join('')}`).join('');
          process.stderr.write(`  FAILED:\nlint error ${result.duplicates.length} duplicate rule(s) found.\n${list}Might cause inconsistency while recording expressions\n\n`);
          if (opts.lintFatal) failed = true;
          continue;
        }
        process.stdout.write(`  SUCCESS: ${rules} rules found\n\n`);
      }
      if (failed) process.exitCode = 1;
    });
  return check;
}

/** `vigil test rules FILE...`: promtool's `test rules` unit tests; failures print expected against got. */
export function testCommand(): Command {
  const test = new Command('test').description('Run unit tests.');
  test
    .command('rules')
    .description('Run Prometheus rule unit tests (promtool `test rules` format: input_series, alert_rule_test, promql_expr_test); exits 1 on a failure.')
    .argument('<files...>', 'unit-test files (YAML); rule_files resolve relative to each')
    .action((files: string[]) => {
      const bar = process.stderr.isTTY && files.length > 1 ? new cliProgress.SingleBar({ format: 'test rules [{bar}] {value}/{total} {file}', clearOnComplete: true }, cliProgress.Presets.shades_classic) : undefined;
      bar?.start(files.length, 0, { file: '' });
      const reports: string[] = [];
      let failed = false;
      for (const file of files) {
        bar?.update({ file });
        const result = runUnitTestFile(file);
        let report = `Unit Testing:  ${file}\n${result.warnings.map((w) => `  WARNING: ${w}\n`).join('')}`;
        if (result.failures.length > 0) {
          failed = true;
          report += `  FAILED:\n${result.failures.join('\n\n')}\n\n`;
        } else report += '  SUCCESS\n\n';
        reports.push(report);
        bar?.increment();
      }
      bar?.stop();
      process.stdout.write(reports.join(''));
      if (failed) process.exitCode = 1;
    });
  return test;
}


