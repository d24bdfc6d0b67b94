/** The grants /token dispatches to, by grant_type. One module per grant. */
import type { Issuer } from "../../issuer.js";
import type { Context } from "hono";
import type { AppEnv } from "../../http/env.js";
import * as authorizationCode from "./authorization-code.js";
import * as clientCredentials from "./client-credentials.js";
import * as refreshToken from "./refresh-token.js";

export type TokenParams = Record<string, string | undefined>;

export interface Grant {
  parameters: Set<string>;
  handler(issuer: Issuer, params: TokenParams, c: Context<AppEnv>): Promise<Record<string, unknown>>;
}

export const grants: Record<string, Grant> = {
  authorization_code: authorizationCode,
  client_credentials: clientCredentials,
  refresh_token: refreshToken,
};
