import { Command } from 'commander';
import { alertsCommand } from './alerts.js';
import { deliveriesCommand } from './deliveries.js';
import { modelsCommand } from './models.js';
import { forecastCommand } from './forecast.js';
import { incidentsCommand } from './incidents.js';
import { silencesCommand } from './silences.js';
import { oncallCommand } from './oncall.js';
import { checkCommand, testCommand } from './prom-rules.js';
import { runCommand } from './run.js';
import { runsCommand } from './runs.js';
import { schemaCommand } from './schema.js';
import { scoreCommand } from './score.js';
import { validateCommand } from './validate.js';

export function createProgram(): Command {
  const program = new Command('vigil')
    .description('Vigil: watches metrics, learns normal, warns before things break, pages the right person.')
    .version('0.1.0')
    .showHelpAfterError()
    // Lets a subcommand's subcommand own an option its parent also has (`forecast report --horizon`).
    .enablePositionalOptions();
  // One command per line, so features add commands without touching each other's lines.
  program.addCommand(runCommand());
  program.addCommand(validateCommand());
  program.addCommand(schemaCommand());
  program.addCommand(alertsCommand());
  program.addCommand(deliveriesCommand());
  program.addCommand(oncallCommand());
  program.addCommand(runsCommand());
  program.addCommand(checkCommand());
  program.addCommand(testCommand());
  program.addCommand(modelsCommand());
  program.addCommand(scoreCommand());
  program.addCommand(forecastCommand());
  program.addCommand(silencesCommand());
  program.addCommand(incidentsCommand());
  return program;
}
