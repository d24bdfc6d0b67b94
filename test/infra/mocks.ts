/**
 * Pulumi mocks that record every resource the program declares and return computed outputs
 * (names, ARNs, URLs, ids) the way the AWS provider would, so the graph can be asserted on.
 * Each record also carries the resource's direct dependencies (explicit `dependsOn` and those
 * implied by its inputs), so tests can pin what must exist before what.
 */
import * as pulumi from "@pulumi/pulumi";

export interface Declared {
  type: string;
  name: string;
  inputs: Record<string, any>;
  id: string;
  /** The resources this one waits for, as `type::name` (direct dependencies only). */
  dependsOn: string[];
  /** The `retainOnDelete` resource option: `pulumi destroy` leaves the cloud resource in place. */
  retainOnDelete: boolean;
  /** The explicit provider (`urn::id`), e.g. a us-east-1 provider; empty for the default one. */
  provider: string;
  /** The `protect` resource option: a destroy or replacement stops instead of deleting it. */
  protect: boolean;
}

export async function installMocks(config: Record<string, unknown>, stack = "dev"): Promise<Declared[]> {
  const declared: Declared[] = [];
  const region = "eu-west-1";
  const account = "123456789012";
  pulumi.runtime.setAllConfig(
    Object.fromEntries(Object.entries(config).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)])),
  );
  const registration = new Map<string, { dependsOn: string[]; retainOnDelete: boolean; provider: string; protect: boolean }>();
  await pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const name = (args.inputs.name as string | undefined) ?? `${args.name}-${Math.random().toString(36).slice(2, 8)}`;
        const id = `${args.name}-id`;
        const state: Record<string, unknown> = { ...args.inputs, name };
        const short = args.type.split(":")[1]!;
        state.arn = `arn:aws:${short}:${region}:${account}:${args.type.split(":")[2]!.toLowerCase()}/${name}`;
        switch (args.type) {
          case "aws:s3/bucket:Bucket":
            // S3 appends a unique suffix to bucketPrefix (26 characters).
            state.bucket = args.inputs.bucket ?? (args.inputs.bucketPrefix ? `${args.inputs.bucketPrefix}20261124010203000000000001` : name);
            state.bucketRegionalDomainName = `${state.bucket}.s3.${region}.amazonaws.com`;
            state.arn = `arn:aws:s3:::${state.bucket}`;
            break;
          case "aws:dynamodb/table:Table":
            state.arn = `arn:aws:dynamodb:${region}:${account}:table/${name}`;
            break;
          case "aws:kms/key:Key":
            state.arn = `arn:aws:kms:${region}:${account}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
            break;
          case "aws:lambda/function:Function":
            state.arn = `arn:aws:lambda:${region}:${account}:function:${name}`;
            state.invokeArn = `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${state.arn}/invocations`;
            state.lastModified = "2026-11-24T01:02:03.000+0000";
            state.version = args.inputs.publish ? "7" : "$LATEST";
            break;
          case "aws:lambda/alias:Alias":
            state.arn = `arn:aws:lambda:${region}:${account}:function:${args.inputs.functionName}:${args.inputs.name}`;
            state.invokeArn = `arn:aws:apigateway:${region}:lambda:path/2015-03-31/functions/${state.arn}/invocations`;
            break;
          case "aws:apigatewayv2/api:Api":
            state.apiEndpoint = `https://${id}.execute-api.${region}.amazonaws.com`;
            state.executionArn = `arn:aws:execute-api:${region}:${account}:${id}`;
            break;
          case "aws:cloudfront/distribution:Distribution":
            state.domainName = "d111111abcdef8.cloudfront.net";
            state.arn = `arn:aws:cloudfront::${account}:distribution/${id}`;
            break;
          case "pulumi:pulumi:StackReference":
            // A consumer's reference to a Latchkey stack (infra/README.md's consumer example).
            state.outputs = { issuerUrl: "https://auth.example.com" };
            break;
          case "random:index/randomPassword:RandomPassword":
            state.result = `origin-secret-${args.name}`;
            break;
          case "aws:ecr/repository:Repository":
            state.repositoryUrl = `${account}.dkr.ecr.${region}.amazonaws.com/${name}`;
            break;
          case "docker-build:index:Image":
            state.digest = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
            state.ref = `${String(args.inputs.tags?.[0]).split(":")[0]}@${state.digest}`;
            break;
          case "aws:secretsmanager/secret:Secret":
            state.arn = `arn:aws:secretsmanager:${region}:${account}:secret:${name}-AbCdEf`;
            break;
          case "aws:sqs/queue:Queue":
            state.arn = `arn:aws:sqs:${region}:${account}:${name}`;
            break;
          case "aws:cloudwatch/logGroup:LogGroup":
            state.arn = `arn:aws:logs:${region}:${account}:log-group:${name}`;
            break;
        }
        return { id, state: record(state) };
        function record(finalState: Record<string, unknown>) {
          const { dependsOn = [], retainOnDelete = false, provider = "", protect = false } = registration.get(`${args.type}::${args.name}`) ?? {};
          declared.push({ type: args.type, name: args.name, inputs: args.inputs, id, dependsOn, retainOnDelete, provider, protect });
          return finalState;
        }
      },
      call(args: pulumi.runtime.MockCallArgs) {
        if (args.token === "aws:index/getCallerIdentity:getCallerIdentity") {
          return { accountId: account, arn: `arn:aws:iam::${account}:user/test`, userId: "AIDTEST" };
        }
        if (args.token === "aws:ecr/getAuthorizationToken:getAuthorizationToken") {
          return { userName: "AWS", password: "ecr-token", proxyEndpoint: `https://${account}.dkr.ecr.${region}.amazonaws.com` };
        }
        return args.inputs;
      },
    },
    "latchkey",
    stack,
    false,
  );
  // The mock monitor passes neither dependencies nor options to newResource; read them off the request.
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource(req: any, cb: unknown): unknown };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, cb: unknown) => {
    // urn:pulumi:<stack>::<project>::<parent type>$<type>::<name>
    const names = (req.getDependenciesList() as string[]).map((urn) => {
      const [, , qualifiedType, name] = urn.split("::");
      return `${qualifiedType!.split("$").pop()}::${name}`;
    });
    registration.set(`${req.getType()}::${req.getName()}`, {
      dependsOn: names,
      retainOnDelete: Boolean(req.getRetainondelete()),
      provider: String(req.getProvider() ?? ""),
      protect: Boolean(req.getProtect()),
    });
    return register(req, cb);
  };
  return declared;
}

/** Every resource `type::name` waits for, directly or through others (as `type::name`). */
export function transitiveDependencies(declared: Declared[], key: string): Set<string> {
  const seen = new Set<string>();
  const visit = (k: string) => {
    for (const d of declared.find((r) => `${r.type}::${r.name}` === k)?.dependsOn ?? []) {
      if (!seen.has(d)) {
        seen.add(d);
        visit(d);
      }
    }
  };
  visit(key);
  return seen;
}

/** Resolves a Pulumi output in tests. */
export function valueOf<T>(output: pulumi.Output<T> | T): Promise<T> {
  if (!pulumi.Output.isInstance(output)) return Promise.resolve(output as T);
  return new Promise((resolve) => (output as pulumi.Output<T>).apply((v) => resolve(v)));
}
