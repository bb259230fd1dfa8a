import * as arrow from "apache-arrow";
import type { StructType } from "../core/schema/types.ts";
import { createConverter } from "./convert.ts";

const schema: StructType = {
  type: "struct",
  fields: [
    { name: "id", type: "long", nullable: false, metadata: {} },
    { name: "ts", type: "timestamp", nullable: false, metadata: {} },
    { name: "user", type: "string", nullable: true, metadata: {} },
    { name: "kind", type: "string", nullable: true, metadata: {} },
    { name: "value", type: "double", nullable: true, metadata: {} },
    { name: "amount", type: "decimal(12,2)", nullable: true, metadata: {} },
  ],
};
const converter = createConverter(schema);

function body(count: number): string {
  return JSON.stringify(Array.from({ length: count }, (_, k) => ({
    id: k,
    ts: new Date(1_700_000_000_000 + k * 1000).toISOString(),
    user: `user-${k % 97}`,
    kind: k % 3 === 0 ? null : "click",
    value: k * 0.5,
    amount: `${k}.25`,
  })));
}

for (const count of [100, 10_000]) {
  const text = body(count);
  Deno.bench(
    `JSON body of ${count} events -> Arrow IPC`,
    { group: String(count), baseline: true },
    () => {
      const batch = converter.fromEvents(JSON.parse(text));
      arrow.tableToIPC(new arrow.Table(batch), "stream");
    },
  );
  Deno.bench(`JSON.parse alone (${count} events)`, { group: String(count) }, () => {
    JSON.parse(text);
  });
  Deno.bench(`tableFromJSON (${count} events, for comparison)`, { group: String(count) }, () => {
    arrow.tableToIPC(arrow.tableFromJSON(JSON.parse(text)), "stream");
  });
}
