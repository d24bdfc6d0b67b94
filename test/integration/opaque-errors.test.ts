/**
 * What a caller sees when storage misbehaves: an AWS SDK error the service itself caused
 * ($fault "client": a bug, e.g. a malformed request to DynamoDB) is a 500 `server_error` that
 * carries the request id and nothing else; one AWS answers for ($fault "server") is a 503 the
 * caller may retry. The internal message reaches the log, never the body.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AwsClients } from "../../functions/storage/aws.js";
import { post, skipIntegration, startTestIssuer, type TestIssuer } from "../support/issuer.js";
import { captureLogs } from "../support/logs.js";
import { interceptDdb } from "../support/aws.js";

const SECRET_DETAIL = "One or more parameter values were invalid: table latchkey-internal-4711";

describe.skipIf(skipIntegration)("errors from the AWS SDK", () => {
  let t: TestIssuer;
  let fault: "client" | "server" | undefined;

  beforeAll(async () => {
    const injecting = (aws: AwsClients) =>
      interceptDdb(aws, (cmd, send) => {
        if (!fault) return send(cmd);
        const err = Object.assign(new Error(SECRET_DETAIL), {
          name: fault === "client" ? "ValidationException" : "InternalServerError",
          $fault: fault,
          $metadata: { httpStatusCode: fault === "client" ? 400 : 500, requestId: "AWS-REQ-1" },
        });
        return Promise.reject(err);
      });
    t = await startTestIssuer({}, { wrapAws: injecting });
  });
  afterAll(() => t?.close());

  const refresh = () => post(`${t.url}/refresh`, { refresh_token: "lkr_" + "A".repeat(87) });

  it('$fault "client" answers 500 server_error with the request id and nothing else', async () => {
    fault = "client";
    const logs = captureLogs("error");
    let res;
    try {
      res = await refresh();
    } finally {
      logs.stop();
      fault = undefined;
    }
    const requestId = res.headers.get("x-request-id")!;
    expect(requestId).toBeTruthy();
    expect(res.status).toBe(500);
    expect(res.json).toEqual({ error: "server_error", error_description: `internal error; request id ${requestId}` });
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(logs.find(requestId)).toMatchObject({ level: "error", message: SECRET_DETAIL });
  });

  it('$fault "server" answers 503 temporarily_unavailable with Retry-After', async () => {
    fault = "server";
    let res;
    try {
      res = await refresh();
    } finally {
      fault = undefined;
    }
    expect(res.status).toBe(503);
    expect(res.json.error).toBe("temporarily_unavailable");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(JSON.stringify(res.json)).not.toContain("latchkey-internal");
  });
});
