/**
 * Rollout: traffic reaches each serving function through its `live` alias, and the alias
 * moves to a newly published version only after a smoke invocation of that exact version
 * passes (`{"action":"smoke"}`: config loads, the keyring is readable, the signing key loads
 * and decrypts under the function's own role). A broken image or a role that cannot read its
 * keys fails `pulumi up` at the smoke step, and the alias keeps serving the previous version.
 *
 * The smoke input names the version, so every new version gets a new invocation (the
 * Invocation's CREATE_ONLY scope runs on create or replace); it runs after ensure-keys, so a
 * fresh stack's first version has keys to load.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export const LIVE_ALIAS = "live";

export interface RolloutArgs {
  functions: Record<string, aws.lambda.Function>;
  /** What must exist before a smoke test can pass (the deploy-time ensure-keys). */
  after: pulumi.Resource[];
}

export class Rollout extends pulumi.ComponentResource {
  readonly aliases: Record<string, aws.lambda.Alias> = {};
  readonly smokeTests: Record<string, aws.lambda.Invocation> = {};

  constructor(name: string, args: RolloutArgs, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:Rollout", name, {}, opts);
    for (const [role, fn] of Object.entries(args.functions)) {
      const smoke = new aws.lambda.Invocation(`${name}-${role}-smoke`, {
        functionName: fn.name,
        qualifier: fn.version,
        input: pulumi.jsonStringify({ action: "smoke", function: role, version: fn.version }),
      }, { parent: this, dependsOn: args.after });
      this.smokeTests[role] = smoke;
      this.aliases[role] = new aws.lambda.Alias(`${name}-${role}-live`, {
        name: LIVE_ALIAS,
        functionName: fn.name,
        functionVersion: fn.version,
        description: "The version serving traffic: moved only after its smoke invocation passed",
      }, { parent: this, dependsOn: [smoke] });
    }
    this.registerOutputs({});
  }
}
