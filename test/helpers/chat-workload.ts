// A seeded random chat workload: a few accounts, then a mix of every command, including ones
// that must be refused (unknown ids, foreign messages). Same seed, same requests.
import type { ChatRequest } from '../../main/chat/prepare.js';
import { hashToken } from '../../main/chat/tokens.js';

/** Small, fast, seedable PRNG (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function chatWorkload(seed: number, accounts: number, commands: number): ChatRequest[] {
  const random = seededRandom(seed);
  const pick = (n: number) => 1 + Math.floor(random() * n);
  // One id past the last account and message, so that some commands name unknown ones.
  const someone = () => pick(accounts + 1);
  let messages = 0;
  const someMessage = () => pick(messages + 2);
  // Sessions draw from their own dice, so that the other commands of a seed stay as they were.
  const sessions = sessionRequests(seed, accounts);
  const requests: ChatRequest[] = [];
  for (let i = 0; i < accounts; i++) requests.push({ t: 'createAccount', username: `user${i}`, password: `password-${i}` });
  // Every command succeeds at least once, whatever the dice say later.
  requests.push(
    { t: 'sendDirect', actor: 1, to: 2, text: `dm ${messages++}` },
    { t: 'markRead', actor: 2, upTo: 1 },
    { t: 'deleteMessages', actor: 1, ids: [1] },
    { t: 'createChannel', actor: 1, name: 'chan0' },
    { t: 'joinChannel', actor: 2, channel: 2 },
    { t: 'postChannel', actor: 2, channel: 2, text: `post ${messages++}` },
    { t: 'leaveChannel', actor: 2, channel: 2 },
    deletion(accounts),
  );
  const makers: (() => ChatRequest)[] = [
    () => direct(someone(), someone(), `dm ${messages++}`),
    () => direct(someone(), someone(), `dm ${messages++}`),
    () => ({ t: 'postChannel', actor: someone(), channel: pick(3), text: `post ${messages++}` }),
    () => ({ t: 'markRead', actor: someone(), upTo: someMessage() }),
    () => ({ t: 'markRead', actor: someone(), peer: someone(), upTo: someMessage() }),
    () => ({ t: 'deleteMessages', actor: someone(), ids: [someMessage()] }),
    () => ({ t: 'deleteMessages', actor: someone(), ids: [someMessage(), someMessage() + 1] }),
    () => ({ t: 'createChannel', actor: someone(), name: `chan${pick(4)}` }),
    () => ({ t: 'joinChannel', actor: someone(), channel: pick(4) }),
    () => ({ t: 'leaveChannel', actor: someone(), channel: pick(4) }),
  ];
  for (let i = 0; i < commands; i++) {
    const maker = random() < 0.01 ? () => deletion(someone()) : makers[pick(makers.length) - 1];
    const request = (maker as () => ChatRequest)();
    // Sessions take the place of some commands, so that `commands` stays the count.
    requests.push(sessions.maybe() ?? request);
  }
  return requests;
}

/** Prepare refuses messages to oneself, so the dice pick the next account instead. */
function direct(actor: number, to: number, text: string): ChatRequest {
  return { t: 'sendDirect', actor, to: to === actor ? to + 1 : to, text };
}

function deletion(actor: number): ChatRequest {
  return { t: 'deleteAccount', actor, account: actor };
}

/** Logins with token-shaped tokens, and logouts of issued tokens by their owner or by someone else. */
function sessionRequests(seed: number, accounts: number) {
  const random = seededRandom(seed ^ 0x5e55);
  const pick = (n: number) => 1 + Math.floor(random() * n);
  const issued: { account: number; token: string }[] = [];
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const login = (account: number): ChatRequest => {
    const token = Array.from({ length: 43 }, () => alphabet[pick(64) - 1]).join('');
    issued.push({ account, token });
    return { t: 'login', account, token };
  };
  const logout = (actor?: number): ChatRequest => {
    const session = issued[pick(issued.length) - 1];
    if (session === undefined) return login(actor ?? 1);
    return { t: 'logout', actor: actor ?? session.account, tokenHash: hashToken(session.token) };
  };
  /** About one command in ten becomes a session command. */
  const maybe = (): ChatRequest | null => {
    const dice = random();
    if (dice < 0.05) return login(pick(accounts + 1));
    if (dice < 0.1) return logout(random() < 0.5 ? undefined : pick(accounts));
    return null;
  };
  return { maybe };
}
