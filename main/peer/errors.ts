// Errors a peer reports to its clients, each with a stable code and one clear sentence.

export type PeerErrorCode = 'no-quorum' | 'timeout' | 'stopped';

export class PeerError extends Error {
  constructor(readonly code: PeerErrorCode, message: string) {
    super(message);
    this.name = 'PeerError';
  }
}

/** The group cannot commit: fewer than a majority of voters can be reached from here. */
export class NoQuorumError extends PeerError {
  constructor(readonly reachable: number, readonly voters: number) {
    super('no-quorum', `no quorum: ${reachable} of ${voters} peers reachable`);
  }
}

export class TimeoutError extends PeerError {
  constructor(message: string) {
    super('timeout', message);
  }
}

export class PeerStoppedError extends PeerError {
  constructor() {
    super('stopped', 'this peer is shutting down');
  }
}
