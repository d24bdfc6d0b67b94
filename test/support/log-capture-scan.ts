/** The end-of-run scan of captured log lines (global-setup.ts); see log-capture.ts. */

/** What no captured line may contain, by shape (any value) and by value (credentials seen). */
export const SECRET_SHAPES: [string, RegExp][] = [
  ["a client secret", /lks_[A-Za-z0-9_-]{43}/],
  ["a refresh token", /lkr_[A-Za-z0-9_-]{40,}/],
  ["a JWT (access token or client assertion)", /eyJ[\w-]{8,}\.eyJ[\w-]{8,}\.[\w-]{20,}/],
  ["a private key", /PRIVATE KEY/],
];

/** The leaks in `lines`: shapes, remembered secrets, and the family id inside each refresh token. */
export function findLeaks(lines: string[], remembered: string[], passwords: string[]): string[] {
  const values = new Set([...remembered, ...passwords]);
  for (const s of remembered) if (s.startsWith("lkr_")) values.add(s.slice(4, 26)); // the family id
  const leaks: string[] = [];
  for (const line of lines) {
    for (const [what, shape] of SECRET_SHAPES) if (shape.test(line)) leaks.push(`${what}: ${line.slice(0, 300)}`);
    for (const v of values) if (line.includes(v)) leaks.push(`a credential seen in a response (${v.slice(0, 6)}...): ${line.slice(0, 300)}`);
  }
  return leaks;
}
