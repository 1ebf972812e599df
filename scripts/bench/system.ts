// What the measurements need from a replicated system under test, so that one closed-loop
// runner and one failover routine serve both etcd and Quorum Chat.
import { readFileSync } from 'node:fs';

/** Somewhere to send writes: each write resolves once it is committed. */
export interface WriteTarget {
  /**
   * One 100-byte write on behalf of logical sender `sender` (a sender's writes never overlap,
   * so a system with client sessions can number them in order).
   */
  write(sender: number): Promise<void>;
  close(): void;
}

export interface BenchSystem {
  readonly name: string;
  readonly memberIds: readonly string[];
  /** The current leader's id, once every running member agrees on one. */
  leader(): Promise<string>;
  /** A target that talks only to member `id`. */
  target(id: string): Promise<WriteTarget>;
  /** SIGKILLs a member and waits until its process is gone. */
  kill(id: string): Promise<void>;
  /** Restarts a killed member and waits until the group is whole and has a leader again. */
  restart(id: string): Promise<void>;
  /** Process ids of the running members (for CPU accounting). */
  pids(): Promise<number[]>;
  /** Stops everything this system started and removes its data; safe to call twice. */
  destroy(): Promise<void>;
}

/** 100 bytes of payload, the same for both systems. */
export const payload = 'x'.repeat(100);

/** CPU time (user + system, ms) each of the processes `pids` has used so far; a process gone counts 0. */
export function cpuMsEach(pids: readonly number[]): number[] {
  return pids.map((pid) => {
    try {
      // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10; // USER_HZ is 100 on Linux
    } catch {
      return 0; // exited
    }
  });
}
