/**
 * The issuer's services, wired once per process from config. Entry points (Lambda, local
 * server, CLI, tests) build one of these and hand it to the HTTP app or the key operations.
 */
import type { Config } from "./config.js";
import { setLogLevel } from "./log.js";
import { createAwsClients, type AwsClients } from "./storage/aws.js";
import { KeyStore } from "./keys/key-store.js";
import { LoginThrottle } from "./users/login-throttle.js";
import { Users } from "./users/users.js";
import { RefreshTokens } from "./tokens/refresh-tokens.js";
import { Clients } from "./clients/clients.js";
import { ClientAuthenticator } from "./clients/authenticate.js";
import { AssertionVerifier } from "./clients/assertion.js";
import { configureMetrics } from "./observability/metrics.js";
import { configureAuditBus } from "./observability/audit.js";
import { eventBridgeAuditBus } from "./observability/event-bus.js";
import { Revocations } from "./revocations/revocations.js";
import { Accounts } from "./users/accounts.js";
import { PasswordResets } from "./users/password-resets.js";
import { AccessTokenVerifier } from "./tokens/verify-access-token.js";
import { BrowserSessions } from "./sessions/browser-sessions.js";
import { AuthorizationCodes } from "./tokens/authorization-codes.js";

export interface Issuer {
  config: Config;
  aws: AwsClients;
  keys: KeyStore;
  users: Users;
  refreshTokens: RefreshTokens;
  clients: Clients;
  clientAuth: ClientAuthenticator;
  revocations: Revocations;
  /** The account lifecycle: self-service and administration. */
  accounts: Accounts;
  /** Verifies this issuer's access tokens, revocation included. */
  accessTokens: AccessTokenVerifier;
  sessions: BrowserSessions;
  codes: AuthorizationCodes;
}

export function createIssuer(config: Config, aws: AwsClients = createAwsClients(config)): Issuer {
  setLogLevel(config.logLevel);
  configureMetrics({ namespace: config.metricsNamespace, service: config.serviceName });
  configureAuditBus(config.auditEventBus ? eventBridgeAuditBus(aws, config.auditEventBus) : undefined);
  const throttle = new LoginThrottle(config, aws);
  const revocations = new Revocations(config, aws);
  const clients = new Clients(config, aws, revocations);
  const keys = new KeyStore(config, aws);
  const users = new Users(config, aws, throttle);
  const refreshTokens = new RefreshTokens(config, aws, revocations);
  const sessions = new BrowserSessions(config, aws, refreshTokens, revocations);
  return {
    config,
    aws,
    keys,
    users,
    refreshTokens,
    clients,
    clientAuth: new ClientAuthenticator(config, clients, new AssertionVerifier(config, aws)),
    revocations,
    // Ending a person's sessions (password change, disable, delete, reset) ends browser sessions too.
    accounts: new Accounts(config, users, revocations, new PasswordResets(config, aws), sessions),
    accessTokens: new AccessTokenVerifier(config, keys, revocations),
    sessions,
    codes: new AuthorizationCodes(config, aws, refreshTokens, revocations),
  };
}
