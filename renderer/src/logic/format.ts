// Small formatting helpers.
export function secondsAgo(at: number | null, now: number): string {
  if (at === null) return 'never';
  const s = Math.max(0, now - at) / 1000;
  if (s < 60) return `${s.toFixed(1)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  return `${Math.floor(s / 3600)} h ago`;
}

export function clockTime(at: number): string {
  const d = new Date(at);
  return d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
}

export function dateTime(at: number): string {
  return new Date(at).toLocaleString();
}
