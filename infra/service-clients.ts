/**
 * Service clients declared in stack config (`latchkey:serviceClients`). Each gets a Secrets
 * Manager secret `{stack}/{name}` and a deploy-time invocation of the rotation function that
 * creates or converges the client and writes its credentials into that secret for the owning
 * service to read. Credentials never pass through Pulumi state or outputs.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { ServiceClientConfig, StackConfig } from "./config.js";

export class ServiceClientSecrets extends pulumi.ComponentResource {
  readonly secrets: aws.secretsmanager.Secret[];

  constructor(name: string, args: { config: StackConfig }, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:ServiceClientSecrets", name, {}, opts);
    this.secrets = args.config.serviceClients.map(
      (sc) =>
        new aws.secretsmanager.Secret(`${name}-${sc.name}`, {
          name: `${args.config.stack}/${sc.name}`,
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
        secretId: args.secrets[i]!.arn,
      };
      new aws.lambda.Invocation(`${name}-${sc.name}`, {
        functionName: args.rotationFunction.name,
        input: pulumi.jsonStringify({ action: "ensure-client", client }),
      }, { parent: this, dependsOn: args.after });
    });
    this.registerOutputs({});
  }
}
