// Where a user's app data lives when no Electron is there to say (the headless peer): the
// platform's per-user configuration folder. The Electron shell uses app.getPath('userData').
import { homedir } from 'node:os';
import { join } from 'node:path';

export function appDataDir(platform: NodeJS.Platform = process.platform, env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'Quorum Chat');
  if (platform === 'win32') return join(env.APPDATA ?? join(home, 'AppData', 'Roaming'), 'Quorum Chat');
  const config = env.XDG_CONFIG_HOME !== undefined && env.XDG_CONFIG_HOME !== '' ? env.XDG_CONFIG_HOME : join(home, '.config');
  return join(config, 'quorum-chat');
}
