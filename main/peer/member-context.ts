// What a conf change's opaque `context` carries for a member: where it listens and the
// fingerprint of its group certificate. Replicated with the change, so every member learns the
// newcomer's addresses and pins its certificate from the log alone.
import { z } from 'zod';

const contextSchema = z.object({
  addresses: z.array(z.string()).max(16).default([]),
  fingerprint: z.string().regex(/^[0-9a-f]{64}$/).optional(),
});

export type MemberContext = z.infer<typeof contextSchema>;

export function encodeMemberContext(context: MemberContext): string {
  return JSON.stringify(context);
}

/** The member context in a conf change (null when absent or not ours: contexts are opaque). */
export function memberContextOf(context: string | undefined): MemberContext | null {
  if (context === undefined || context === '') return null;
  try {
    const parsed = contextSchema.safeParse(JSON.parse(context));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
