import assert from "node:assert/strict";
import { UnsupportedFeatureError } from "../errors.ts";
import type { Metadata, Protocol } from "../log/actions.ts";
import { assertReadSupported, assertWriteSupported } from "./protocol.ts";

function metadata(
  fieldMetadata: Record<string, unknown> = {},
  configuration: Record<string, string> = {},
): Metadata {
  const schema = {
    type: "struct",
    fields: [{
      name: "s",
      type: {
        type: "struct",
        fields: [{ name: "x", type: "long", nullable: true, metadata: fieldMetadata }],
      },
      nullable: true,
      metadata: {},
    }],
  };
  return {
    id: "t",
    format: { provider: "parquet" },
    schemaString: JSON.stringify(schema),
    partitionColumns: [],
    configuration,
  };
}

const v7 = (writerFeatures: string[], readerFeatures: string[] = []): Protocol => ({
  minReaderVersion: 3,
  minWriterVersion: 7,
  readerFeatures,
  writerFeatures,
});

function refusal(fn: () => void): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UnsupportedFeatureError, String(e));
    return e.message;
  }
  assert.fail("expected an UnsupportedFeatureError");
}

Deno.test("reader versions and features", () => {
  for (const v of [1, 2]) assertReadSupported({ minReaderVersion: v, minWriterVersion: 2 });
  assertReadSupported(v7([], [
    "columnMapping",
    "deletionVectors",
    "timestampNtz",
    "typeWidening",
    "typeWidening-preview",
    "v2Checkpoint",
    "vacuumProtocolCheck",
  ]));
  assert.match(
    refusal(() => assertReadSupported({ minReaderVersion: 99, minWriterVersion: 7 })),
    /unsupported minReaderVersion 99/,
  );
  assert.equal(
    refusal(() => assertReadSupported(v7([], ["variantType"]))),
    "Cannot read table: unsupported reader feature 'variantType'",
  );
});

Deno.test("writer features an appending writer can honour", () => {
  assertWriteSupported({ minReaderVersion: 1, minWriterVersion: 2 }, metadata());
  assertWriteSupported(
    v7(
      [
        "appendOnly",
        "invariants",
        "checkConstraints",
        "changeDataFeed",
        "deletionVectors",
        "domainMetadata",
        "columnMapping",
        "timestampNtz",
      ],
      ["deletionVectors"],
    ),
    metadata(),
  );
  for (
    const f of [
      "v2Checkpoint",
      "generatedColumns",
      "identityColumns",
      "rowTracking",
      "inCommitTimestamp",
      "icebergCompatV2",
      "clustering",
      "somethingNew",
    ]
  ) {
    assert.match(refusal(() => assertWriteSupported(v7([f]), metadata())), new RegExp(`'${f}'`));
  }
  assert.match(
    refusal(() => assertWriteSupported({ minReaderVersion: 1, minWriterVersion: 8 }, metadata())),
    /unsupported minWriterVersion 8/,
  );
});

Deno.test("features that are fine only while unused", () => {
  const invariant = metadata({ "delta.invariants": '{"expression":{"expression":"x > 3"}}' });
  assert.match(refusal(() => assertWriteSupported(v7(["invariants"]), invariant)), /'invariants'/);
  assert.match(
    refusal(() => assertWriteSupported({ minReaderVersion: 1, minWriterVersion: 2 }, invariant)),
    /'invariants'/,
  );
  const constrained = metadata({}, { "delta.constraints.positive": "x > 0" });
  assert.match(
    refusal(() => assertWriteSupported(v7(["checkConstraints"]), constrained)),
    /'checkConstraints'/,
  );
  assert.match(
    refusal(() => assertWriteSupported({ minReaderVersion: 1, minWriterVersion: 3 }, constrained)),
    /'checkConstraints'/,
  );
  // Writer version 2 does not imply CHECK constraints.
  assertWriteSupported({ minReaderVersion: 1, minWriterVersion: 2 }, constrained);
  const named = metadata({}, { "delta.columnMapping.mode": "name" });
  assert.match(
    refusal(() => assertWriteSupported(v7(["columnMapping"], ["columnMapping"]), named)),
    /'columnMapping'/,
  );
  assert.match(
    refusal(() => assertWriteSupported({ minReaderVersion: 2, minWriterVersion: 5 }, named)),
    /'columnMapping'/,
  );
  // Legacy 4 and 6: refused only when generated / identity columns exist.
  assertWriteSupported({ minReaderVersion: 1, minWriterVersion: 6 }, metadata());
  assert.match(
    refusal(() =>
      assertWriteSupported(
        { minReaderVersion: 1, minWriterVersion: 4 },
        metadata({ "delta.generationExpression": "x + 1" }),
      )
    ),
    /'generatedColumns'/,
  );
  assert.match(
    refusal(() =>
      assertWriteSupported(
        { minReaderVersion: 1, minWriterVersion: 6 },
        metadata({ "delta.identity.start": 1 }),
      )
    ),
    /'identityColumns'/,
  );
});
