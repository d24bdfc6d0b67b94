/** Hono's typed environment for this app. */
export interface AppEnv {
  Variables: {
    requestId: string;
    /** The request's log context: what its log lines and audit records carry (functions/log.ts). */
    context: import("../log.js").RequestContext;
    /** Set by server-rendered pages: errors render as an HTML page, not JSON. */
    page?: boolean;
  };
  Bindings: {
    /** Present on Lambda (lambda-adapter.ts): the invocation, its event and the event's body. */
    lambdaContext?: { awsRequestId?: string } | undefined;
    event?: { requestContext?: { requestId?: string; http?: { sourceIp?: string } } };
    body?: string | Uint8Array | undefined;
    /** Present on Lambda: the request's headers as a plain record (lambda-adapter.ts), for `requestHeader`. */
    headers?: Record<string, string>;
    /** Present when running under @hono/node-server (local mode, tests). */
    incoming?: import("node:http").IncomingMessage;
  };
}
