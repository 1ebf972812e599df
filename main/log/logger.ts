// Structured logging (pino) to standard error, so standard output stays free for the data
// commands print (`--json`). QUORUM_CHAT_LOG sets the level (default "info"; "silent" mutes).
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(name: string, level = process.env.QUORUM_CHAT_LOG ?? 'info'): Logger {
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything (library use and tests). */
export const silentLogger: Logger = pino({ level: 'silent' });
