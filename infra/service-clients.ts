/**
 * Service clients declared in stack config (`latchkey:serviceClients`). Each gets a Secrets
 * Manager secret `<project>-<stack>/<name>` (the stack name alone, `dev/...`, would collide
 * with other applications' secrets) and an invocation of the rotation function that creates
 * or converges the client and writes its credentials into that secret for the owning service
 * to read. Credentials never pass through Pulumi state or outputs.
 *
 * The invocation's lifecycle scope is CRUD: besides create it runs on every update (converge
 * the client's settings) and on delete, when the client is removed from config or the stack
 * is destroyed. The AWS provider then adds a `tf` key to the input, `{"action": "create" |
 * "update" | "delete", "prev_input": {...}}` (terraform-provider-aws
 * internal/service/lambda/invocation.go, buildInput; `terraform_key` defaults to "tf"), and
 * the router disables the client on delete (functions/clients/declared.ts). Without it the
 * secret would be deleted but the client stay enabled, its secret still valid.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceClientConfig, StackConfig } from "./config.js";
import { LIFECYCLE_KEY } from "../functions/clients/declared.js";

export class ServiceClientSecrets extends pulumi.ComponentResource {
  readonly secrets: aws.secretsmanager.Secret[];

  constructor(name: string, args: { config: StackConfig }, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:ServiceClientSecrets", name, {}, opts);
    this.secrets = args.config.serviceClients.map(
      (sc) =>
        new aws.secretsmanager.Secret(`${name}-${sc.name}`, {
          name: `${args.config.prefix}/${sc.name}`,
          description: `Latchkey client credentials for ${sc.name} (written at deploy time)`,
          recoveryWindowInDays: args.config.protect ? 30 : 0,
        }, { parent: this }),
    );
    this.registerOutputs({ secretNames: this.secrets.map((s) => s.name) });
  }
}

export class ServiceClients extends pulumi.ComponentResource {
  constructor(
    name: string,
    args: { clients: ServiceClientConfig[]; secrets: aws.secretsmanager.Secret[]; rotationFunction: aws.lambda.Function; after: pulumi.Resource[] },
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super("latchkey:index:ServiceClients", name, {}, opts);
    args.clients.forEach((sc, i) => {
      const client = {
        name: sc.name,
        scopes: sc.scopes ?? [],
        audiences: sc.audiences ?? [],
        maySign: sc.maySign ?? false,
        signClaims: sc.signClaims ?? [],
        ...(sc.accessTokenTtl !== undefined ? { accessTokenTtl: sc.accessTokenTtl } : {}),
        ...(sc.auth ? { auth: sc.auth } : {}),
        ...(sc.redirectUris ? { redirectUris: sc.redirectUris } : {}),
        ...(sc.postLogoutRedirectUris ? { postLogoutRedirectUris: sc.postLogoutRedirectUris } : {}),
        ...(sc.jwksUri ? { jwksUri: sc.jwksUri } : {}),
        secretId: args.secrets[i]!.arn,
      };
      new aws.lambda.Invocation(`${name}-${sc.name}`, {
        functionName: args.rotationFunction.name,
        input: pulumi.jsonStringify({ action: "ensure-client", client }),
        lifecycleScope: "CRUD",
        terraformKey: LIFECYCLE_KEY,
      }, { parent: this, dependsOn: args.after });
    });
    this.registerOutputs({});
  }
}
