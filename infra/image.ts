/**
 * The router image: one ECR repository and one build, pushed under a tag that is a hash of
 * what the Dockerfile copies, so the same sources give the same tag on a laptop and in CI.
 *
 * Built with @pulumi/docker-build's Image directly (awsx.ecr.Image 3.x wraps the same resource
 * but names it from a hash of the absolute checkout path, so two checkouts replace each
 * other's image on every deploy). Lambda runs a single image manifest, never an image index,
 * and that holds by construction here, with no environment variable:
 * - one platform, so buildx produces one manifest, not an index of several;
 * - the provider's embedded buildx (`exec: false`, written out): docker-build v0.0.14
 *   (provider/internal/client.go) passes `Attests: {"provenance": nil}` to buildx v0.22.0's
 *   build, and buildx (build/opt.go) adds its default provenance attestation, the thing that
 *   turns a push into an index, only when the "provenance" key is absent; only then does it
 *   read BUILDX_NO_DEFAULT_ATTESTATIONS. In exec mode the provider runs `docker buildx build`
 *   with no --attest flag, and the CLI's default would apply, so exec stays off.
 * No SBOM is requested, and the provider has no attestation input to turn one on.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import * as aws from "@pulumi/aws";
import * as dockerBuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";

/**
 * What the Dockerfile copies (the allow-list in .dockerignore, which a test keeps in step):
 * files and directories relative to the repository root; test files are left out.
 */
export const BUILD_INPUTS = ["Dockerfile", "package.json", "package-lock.json", "tsconfig.json", "infra/build.ts", "functions/"];
const EXCLUDED = /\.test\.ts$/;

/** sha256 over every build input's path and bytes, and the platform: the image tag's source. */
export function buildContentHash(root: string, platform: string): string {
  const hash = createHash("sha256").update(`platform=${platform}\n`);
  const files: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    if (statSync(abs).isDirectory()) {
      for (const entry of readdirSync(abs).sort()) walk(path.posix.join(rel, entry));
    } else if (!EXCLUDED.test(rel)) {
      files.push(rel);
    }
  };
  for (const input of BUILD_INPUTS) walk(input.replace(/\/$/, ""));
  for (const rel of files.sort()) {
    hash.update(`${rel}\n`).update(readFileSync(path.join(root, rel))).update("\n");
  }
  return hash.digest("hex");
}

export interface RouterImageArgs {
  prefix: string;
  /** linux/arm64 or linux/amd64 */
  platform: "linux/arm64" | "linux/amd64";
  /** The repository root (build context), absolute. */
  root: string;
  /** Prod keeps the repository (and its images) through a destroy; dev deletes it with its images. */
  protect: boolean;
}

export class RouterImage extends pulumi.ComponentResource {
  readonly repository: aws.ecr.Repository;
  /** `<repository>@sha256:<digest>`: the functions run this exact build. */
  readonly imageUri: pulumi.Output<string>;
  readonly tag: string;

  constructor(name: string, args: RouterImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("latchkey:index:RouterImage", name, {}, opts);
    const parent = { parent: this };
    this.repository = new aws.ecr.Repository(`${name}-repo`, {
      name: `${args.prefix}-router`,
      // A tag names content (a hash of the sources), and the functions run the digest, so a tag
      // is never moved to different sources. It stays MUTABLE because an IMMUTABLE repository
      // refuses to push a tag that exists even for the same digest (moby/buildkit#3776), and a
      // rebuild of unchanged sources (a new builder, a lost cache) must not fail the deploy.
      imageTagMutability: "MUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      // Dev: `pulumi destroy` deletes the repository with its images instead of failing on
      // them. Prod: the repository is kept (re-adopt it with `pulumi import`, infra/README.md).
      forceDelete: !args.protect,
    }, { ...parent, ...(args.protect ? { retainOnDelete: true } : {}) });
    new aws.ecr.LifecyclePolicy(`${name}-repo-lifecycle`, {
      repository: this.repository.name,
      policy: JSON.stringify({
        rules: [{ rulePriority: 1, description: "keep the last 20 images", selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 20 }, action: { type: "expire" } }],
      }),
    }, parent);

    this.tag = `src-${buildContentHash(args.root, args.platform).slice(0, 32)}`;
    const credentials = aws.ecr.getAuthorizationTokenOutput({ registryId: this.repository.registryId }, parent);
    // Relative to the working directory (the project root under `pulumi up`), so the
    // resource's inputs do not depend on where the repository is checked out.
    const context = path.relative(process.cwd(), args.root) || ".";
    const image = new dockerBuild.Image(`${name}-image`, {
      context: { location: context },
      dockerfile: { location: path.posix.join(context, "Dockerfile") },
      platforms: [args.platform],
      tags: [pulumi.interpolate`${this.repository.repositoryUrl}:${this.tag}`],
      push: true,
      exec: false,
      registries: [{ address: this.repository.repositoryUrl, username: credentials.userName, password: credentials.password }],
    }, parent);
    this.imageUri = pulumi.interpolate`${this.repository.repositoryUrl}@${image.digest}`;
    this.registerOutputs({ imageUri: this.imageUri, tag: this.tag });
  }
}
