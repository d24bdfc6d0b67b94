/**
 * A person registered on a running issuer for a bench: a fresh random username and a
 * passphrase that passes the password rules. Each `login()` is one POST /login (a new
 * refresh-token family).
 *
 * @example
 *   const user = await registeredUser(url);
 *   const { refresh_token } = await user.login();
 */
import { randomBytes } from "node:crypto";

export interface RegisteredUser {
  username: string;
  password: string;
  login(): Promise<Record<string, unknown>>;
}

export async function registeredUser(url: string): Promise<RegisteredUser> {
  const username = `bench-${randomBytes(6).toString("hex")}`;
  const password = `bench ${randomBytes(18).toString("base64url")} passphrase`;
  const post = async (path: string, body: object) => {
    const res = await fetch(url + path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    if (!res.ok) throw new Error(`${path} -> ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  await post("/register", { username, password });
  return { username, password, login: () => post("/login", { username, password }) };
}
