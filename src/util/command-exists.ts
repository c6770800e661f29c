/** Whether a program is on PATH (or an executable path), asked the way a shell would (`command -v`). */
import { spawnSync } from 'node:child_process';

export function commandExists(command: string): boolean {
  // The name travels as an argument, never inside the script: nothing in it is interpreted by the shell.
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0;
}
