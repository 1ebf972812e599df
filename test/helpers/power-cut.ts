// A disk that can lose its power, or fill up: a FUSE file system (power-cut-fs.py) mounted over a
// directory, which passes everything through to a backing directory and remembers only what was
// synced.
// cut() rewrites the backing directory to what a real disk would still hold after a power cut
// (every write since the file's last fsync lost, every name since its directory's last fsync
// lost, or with `keepUnsynced` a random share of the unsynced pages kept), and unmounts.
// Kill every process using the mount first. A mount left behind by a failed test is removed by
// unmount() (call it in an after hook).
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JsonChild } from './json-child.js';

const script = fileURLToPath(new URL('./power-cut-fs.py', import.meta.url));
/** Debian's Python, where python3-pyfuse3 installs (not whatever `python3` is first on PATH). */
const python = '/usr/bin/python3';

/** Why power cuts cannot be simulated here, or null when they can. */
export function powerCutUnavailable(): string | null {
  if (process.platform !== 'linux') return 'power-cut tests need Linux (FUSE)';
  if (process.getuid?.() !== 0) return 'power-cut tests mount FUSE file systems, which needs root here';
  try {
    accessSync('/dev/fuse', constants.R_OK | constants.W_OK);
  } catch {
    return 'power-cut tests need /dev/fuse';
  }
  const probe = spawnSync(python, ['-c', 'import pyfuse3, trio'], { encoding: 'utf8' });
  if (probe.status !== 0) return `power-cut tests need ${python} with pyfuse3 (apt-get install -y python3-pyfuse3 fuse3)`;
  if (spawnSync('fusermount3', ['-V']).status !== 0) return 'power-cut tests need fusermount3 (apt-get install -y fuse3)';
  return null;
}

export interface CutReport {
  /** fsyncs of files and directories the file system saw while mounted. */
  readonly syncs: number;
  /** Pages written but never synced that the cut dropped, and those it kept (`keepUnsynced`). */
  readonly unsyncedPages: number;
  readonly keptPages: number;
}

export interface PowerCutOptions {
  /** Each unsynced 4 KiB page survives the cut with this probability (default 0: none does). */
  readonly keepUnsynced?: number;
  /** Which pages survive (default: powerCutSeed). */
  readonly seed?: number;
  /** A disk this small (bytes): what would overfill it fails with ENOSPC until freeSpace(). */
  readonly capacity?: number;
}

/**
 * The seed of this test process's power cuts: QUORUM_POWER_CUT_SEED, or a random one, so that
 * runs differ. A test prints it (a failure replays with the same value).
 */
export const powerCutSeed = Number(process.env.QUORUM_POWER_CUT_SEED ?? Math.floor(Math.random() * 2 ** 31));

export class PowerCutDisk {
  private constructor(readonly backing: string, readonly mountpoint: string, private readonly fs: JsonChild) {}

  /** Mounts over `mountpoint` (created if missing); what `backing` holds now counts as synced. */
  static async mount(backing: string, mountpoint: string, options: PowerCutOptions = {}): Promise<PowerCutDisk> {
    for (const dir of [backing, mountpoint]) mkdirSync(dir, { recursive: true });
    const args = [script, backing, mountpoint, '--keep-unsynced', String(options.keepUnsynced ?? 0),
      '--seed', String(options.seed ?? powerCutSeed), '--capacity', String(options.capacity ?? 0)];
    const fs = JsonChild.spawn(python, args);
    try {
      await fs.next((line) => line.mounted !== undefined, 'the file system to mount');
    } catch (err) {
      await fs.stop();
      throw err;
    }
    return new PowerCutDisk(backing, mountpoint, fs);
  }

  /** The power cut: the file system unmounts and leaves `backing` as a real disk would be. */
  async cut(): Promise<CutReport> {
    const from = this.fs.lines.length;
    this.fs.signal('SIGTERM');
    const report = await this.fs.next((line) => line.cut === true, 'the power cut', { from });
    const exit = await this.fs.exit();
    if (exit.code !== 0) throw new Error(`power-cut-fs exited with ${exit.signal ?? exit.code}: ${this.fs.errorOutput}`);
    return report as unknown as CutReport;
  }

  /** Lifts the capacity: the disk has room again. */
  async freeSpace(): Promise<void> {
    const from = this.fs.lines.length;
    this.fs.signal('SIGUSR1');
    await this.fs.next((line) => line.freed === true, 'the space to be freed', { from });
  }

  /** Stops the file system if it still runs and removes its mount (for after hooks). */
  async unmount(): Promise<void> {
    await this.fs.stop();
    // A file system killed while mounted leaves a dead mount ("not connected"); lazily unmounted
    // here. Nothing to do (a harmless failure) when cut() unmounted it.
    spawnSync('fusermount3', ['-u', '-z', this.mountpoint], { stdio: 'ignore' });
  }
}
