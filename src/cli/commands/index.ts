/** Every command group of the CLI, one file each; add new groups to this list. */
import type { Command } from 'commander';
import { registerAccessCommands } from './access.ts';
import { registerAdminCommands } from './admin.ts';
import { registerBenchCommands } from './bench.ts';
import { registerCalibrateCommand } from './calibrate.ts';
import { registerConfigCommands } from './config.ts';
import { registerDbCommands } from './db.ts';
import { registerLogCommand } from './log.ts';
import { registerModelsCommands } from './models.ts';
import { registerPadCommand } from './pad.ts';
import { registerRecognitionCommands } from './recognition.ts';
import { registerRunCommand } from './run.ts';
import { registerStylizeCommands } from './stylize.ts';

export type RegisterCommands = (program: Command) => void;

export const commandGroups: RegisterCommands[] = [
  registerRecognitionCommands,
  registerDbCommands,
  registerModelsCommands,
  registerStylizeCommands,
  registerBenchCommands,
  registerRunCommand,
  registerAdminCommands,
  registerConfigCommands,
  registerAccessCommands,
  registerLogCommand,
  registerCalibrateCommand,
  registerPadCommand,
];
