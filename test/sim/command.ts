// The workload's commands: "c<client>:<seq>|<padding>". The id before "|" is unique per proposal;
// the padding gives entries realistic, varied sizes so that byte-based flow control is exercised.

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BAR = 0x7c; // "|"

export function encodeCommand(id: string, padding: number): Uint8Array {
  return encoder.encode(`${id}|${'x'.repeat(padding)}`);
}

/** The command id in an entry's data, or null (the leader's no-op has empty data). */
export function commandId(data: Uint8Array): string | null {
  if (data.length === 0) return null;
  const end = data.indexOf(BAR);
  return decoder.decode(end < 0 ? data : data.subarray(0, end));
}
