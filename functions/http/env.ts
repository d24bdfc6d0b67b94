/** Hono's typed environment for this app. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** Set by server-rendered pages: errors render as an HTML page, not JSON. */
    page?: boolean;
  };
  Bindings: {
    /** Present when running under hono/aws-lambda. */
    lambdaContext?: { awsRequestId?: string };
    event?: { requestContext?: { requestId?: string; http?: { sourceIp?: string } } };
    /** Present when running under @hono/node-server (local mode, tests). */
    incoming?: { socket?: { remoteAddress?: string } };
  };
}
