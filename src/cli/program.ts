import { Command } from 'commander';
import { alertsCommand } from './alerts.js';
import { deliveriesCommand } from './deliveries.js';
import { incidentsCommand } from './incidents.js';
import { silencesCommand } from './silences.js';
import { oncallCommand } from './oncall.js';
import { checkCommand, testCommand } from './rules.js';
import { runCommand } from './run.js';
import { schemaCommand } from './schema.js';
import { validateCommand } from './validate.js';

export function createProgram(): Command {
  const program = new Command('vigil')
    .description('Vigil: watches metrics, learns normal, warns before things break, pages the right person.')
    .version('0.1.0')
    .showHelpAfterError();
  for (const command of [runCommand(), validateCommand(), schemaCommand(), alertsCommand(), deliveriesCommand(), oncallCommand(), testCommand(), checkCommand()]) program.addCommand(command);
  for (const command of [silencesCommand(), incidentsCommand()]) program.addCommand(command);
  return program;
}
