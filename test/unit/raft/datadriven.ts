// A minimal data-driven test format after etcd's datadriven package: a file is a list of blocks
//
//   # comments and blank lines between blocks are kept as they are
//   command arg key=value
//   ----
//   expected output, one or more lines
//   (a blank line ends the block)
//
// `runFile` runs every block's command through `run` and compares the output; with REWRITE=1 in
// the environment it writes the actual outputs back into the file instead.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';

export interface Block {
  /** 1-based line of the command, for error messages. */
  readonly line: number;
  readonly command: string;
  readonly expected: string;
}

type Part = { kind: 'text'; text: string } | { kind: 'block'; block: Block };

export function parse(source: string, file = '<input>'): Part[] {
  const lines = source.replace(/\n$/, '').split('\n');
  const parts: Part[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] as string;
    if (line.trim() === '' || line.startsWith('#')) {
      parts.push({ kind: 'text', text: line });
      i++;
      continue;
    }
    if (lines[i + 1] !== '----') throw new Error(`${file}:${i + 1}: expected "----" after the command "${line}"`);
    const out: string[] = [];
    let j = i + 2;
    while (j < lines.length && (lines[j] as string).trim() !== '') out.push(lines[j++] as string);
    parts.push({ kind: 'block', block: { line: i + 1, command: line, expected: out.join('\n') } });
    i = j;
  }
  return parts;
}

/** Splits a command line into its name, positional arguments and key=value options. */
export function words(command: string): { name: string; args: string[]; opts: Map<string, string> } {
  const [name = '', ...rest] = command.trim().split(/\s+/);
  const args: string[] = [];
  const opts = new Map<string, string>();
  for (const w of rest) {
    const eq = w.indexOf('=');
    if (eq > 0) opts.set(w.slice(0, eq), w.slice(eq + 1));
    else args.push(w);
  }
  return { name, args, opts };
}

export function runFile(path: string, run: (command: string) => string): void {
  const source = readFileSync(path, 'utf8');
  const parts = parse(source, path);
  const rewrite = process.env.REWRITE === '1';
  const out: string[] = [];
  for (const part of parts) {
    if (part.kind === 'text') {
      out.push(part.text);
      continue;
    }
    const { line, command, expected } = part.block;
    let actual: string;
    try {
      actual = run(command).replace(/\n+$/, '');
    } catch (err) {
      throw new Error(`${path}:${line}: "${command}" threw: ${(err as Error).stack ?? String(err)}`, { cause: err });
    }
    if (actual === '') actual = 'ok';
    if (rewrite) out.push(command, '----', actual);
    else assert.equal(actual, expected, `${path}:${line}: output of "${command}" differs`);
  }
  if (rewrite) writeFileSync(path, out.join('\n') + '\n');
}
