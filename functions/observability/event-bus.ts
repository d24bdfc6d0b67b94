/**
 * The optional EventBridge destination of the audit trail: each record becomes one event
 * (source `latchkey`, detail-type the event name, detail the record), so teams can route
 * security events with rules. PutEvents reports per-entry failures in a 200 response, so
 * those are checked too.
 * (https://docs.aws.amazon.com/eventbridge/latest/APIReference/API_PutEvents.html)
 */
import type { AwsClients } from "../storage/aws.js";
import type { AuditBus } from "./audit.js";

export const AUDIT_EVENT_SOURCE = "latchkey";

export function eventBridgeAuditBus(aws: Pick<AwsClients, "eventBridge">, busName: string): AuditBus {
  return {
    async put(event, record) {
      // Loaded with the client on first use: a bundle chunk a cold start without a bus never reads.
      const [client, { PutEventsCommand }] = await Promise.all([aws.eventBridge(), import("@aws-sdk/client-eventbridge")]);
      const out = await client.send(
        new PutEventsCommand({
          Entries: [{ EventBusName: busName, Source: AUDIT_EVENT_SOURCE, DetailType: event, Detail: JSON.stringify(record) }],
        }),
      );
      const failed = out.Entries?.find((e) => e.ErrorCode);
      if (out.FailedEntryCount || failed) {
        throw Object.assign(new Error(failed?.ErrorMessage ?? "PutEvents reported a failed entry"), { name: failed?.ErrorCode ?? "PutEventsFailed" });
      }
    },
  };
}
