// What the commands print: with --json exactly one JSON document on standard output, else a
// short human form. Failures are one line on standard error and a non-zero exit code
// (logs also go to standard error, so standard output stays parseable).
import { InvalidArgumentError } from 'commander';
import type { Logger } from '../log/logger.js';
import { splitHostPort } from '../transport/listener.js';

/**
 * What a peer run from the command line does when its storage fails (a full disk, an I/O
 * error): one line on standard error and exit code 1, the log having said the rest, instead of
 * the peer's default, an uncaught error and its stack.
 */
export function exitOnFatal(log: Logger): (err: Error) => void {
  return (err) => {
    log.flush();
    process.stderr.write(`quorum-chat: the peer stopped: ${err.message}\n`);
    process.exit(1);
  };
}

/** An error whose message is already the one line a person should read. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

export function printResult(json: boolean, value: unknown, human: () => string): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** Left-aligned columns, two spaces apart; the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n');
}

/** Parses a positive integer option (commander hands options over as strings). */
export function positiveInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

/** Parses a whole-number option (0 allowed). */
export function wholeNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError('expected a whole number (0 or more).');
  return n;
}

/** A --listen style address, checked before anything is written. */
export function listenAddress(value: string): string {
  try {
    splitHostPort(value);
  } catch {
    throw new InvalidArgumentError('expected host:port (IPv6 in brackets; port 0: any free port).');
  }
  return value;
}

/** Parses a TCP port option; 0 means "any free port". */
export function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65_535) throw new InvalidArgumentError('expected a port number (0-65535; 0: any free port).');
  return n;
}
