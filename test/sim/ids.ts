// Node ids are "n1", "n2", …; the simulator indexes its per-node tables by the number.
import type { NodeId } from '../../main/raft/types.js';

/** Upper bound on nodes one run may ever create (founders plus joiners); sizes the link matrix. */
export const MAX_NODES = 16;

export function nodeId(index: number): NodeId {
  return `n${index + 1}`;
}

/** The index of a sim node id, or -1 for anything the simulator never created. */
export function nodeIndex(id: NodeId): number {
  const n = Number(id.slice(1));
  return id.startsWith('n') && Number.isInteger(n) && n >= 1 && n <= MAX_NODES ? n - 1 : -1;
}
