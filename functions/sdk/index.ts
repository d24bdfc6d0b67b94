/** Latchkey's client side: token clients, user sessions, verification and middleware. */
export { createClient, type ClientOptions, type LatchkeyClient } from "./client.js";
export { createUserSession, type UserSession, type UserSessionOptions } from "./session.js";
export { verifyAccessToken, type AccessTokenClaims, type VerifyOptions } from "./verify.js";
export type { RevocationCheck } from "./revocation.js";
export { latchkeyAuth, requireAccessToken, type RequestWithClaims } from "./middleware.js";
export { LatchkeyError, type LatchkeyErrorCode, type VerifyFailureReason } from "./errors.js";
export { discover, type IssuerMetadata } from "./discovery.js";
