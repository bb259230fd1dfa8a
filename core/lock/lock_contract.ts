/**
 * The contract test suite every {@linkcode MaintenanceLock} backend must pass, one `Deno.test` per
 * guarantee of `lock.ts`, plus a fast-check property over random acquire / renew / release /
 * advance sequences of 3 owners checked against a model.
 *
 * This module is meant for tests: it registers tests with `Deno.test`.
 *
 * @module
 */

import assert from "node:assert/strict";
import fc from "fast-check";
import { createManualClock, type ManualClock } from "../clock.ts";
import type { LockLease, MaintenanceLock } from "./lock.ts";

/** A fresh lock for one test: `open` returns a new handle on the same lock (as another process would). */
export interface LockFixture {
  /** A new handle on the one lock of this fixture, judging time by the fixture's clock. */
  open(): MaintenanceLock;
  /** Release what the fixture created. */
  cleanup(): Promise<void>;
}

/** Options of {@linkcode describeLockContract}. */
export interface LockContractOptions {
  /** Runs of the property test; default 100. */
  propertyRuns?: number;
}

/**
 * Register the lock contract tests, named `lock contract (${name}): ...`. `create` is called once
 * per test (once per property run) with the manual clock every handle must use.
 *
 * @example
 * ```ts ignore
 * import { createMemoryStorage } from "../storage/memory.ts";
 * import { describeLockContract } from "./lock_contract.ts";
 * import { createStorageLock } from "./storage_lock.ts";
 * describeLockContract("memory", (clock) => {
 *   const storage = createMemoryStorage();
 *   return Promise.resolve({
 *     open: () => createStorageLock(storage, "locks/a", { clock }),
 *     cleanup: () => Promise.resolve(),
 *   });
 * });
 * ```
 */
export function describeLockContract(
  name: string,
  create: (clock: ManualClock) => Promise<LockFixture>,
  options: LockContractOptions = {},
): void {
  const test = (title: string, body: (f: LockFixture, clock: ManualClock) => Promise<void>) =>
    Deno.test(`lock contract (${name}): ${title}`, async () => {
      const clock = createManualClock(1_700_000_000_000);
      const fixture = await create(clock);
      try {
        await body(fixture, clock);
      } finally {
        await fixture.cleanup();
      }
    });

  test("of concurrent contenders exactly one wins", async (f) => {
    for (let round = 0; round < 3; round++) {
      const leases = await Promise.all(
        Array.from({ length: 5 }, (_, i) => f.open().tryAcquire(`owner-${i}`, 10_000)),
      );
      const winners = leases.filter((l) => l !== undefined);
      assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
      await winners[0]?.release();
    }
  });

  test(
    "a held lease blocks others; an expired one is taken over and renew then fails",
    async (f, clock) => {
      const a = await f.open().tryAcquire("a", 10_000);
      assert.ok(a !== undefined);
      assert.equal(a.owner, "a");
      assert.equal(a.expiresAtMs, clock.nowMs() + 10_000);
      clock.advance(9_999);
      assert.equal(await f.open().tryAcquire("b", 10_000), undefined, "unexpired: held");
      clock.advance(1);
      const b = await f.open().tryAcquire("b", 10_000);
      assert.ok(b !== undefined, "expired: taken over");
      assert.equal(await a.renew(10_000), false, "renew after loss fails");
      assert.equal(await a.renew(10_000), false, "and keeps failing");
      await a.release(); // a lost lease's release must not free the lock
      assert.equal(await f.open().tryAcquire("c", 10_000), undefined);
      assert.equal(await b.renew(10_000), true);
    },
  );

  test("renew extends the lease; release lets the next acquire", async (f, clock) => {
    const a = await f.open().tryAcquire("a", 10_000);
    assert.ok(a !== undefined);
    clock.advance(8_000);
    assert.equal(await a.renew(10_000), true);
    assert.equal(a.expiresAtMs, clock.nowMs() + 10_000);
    clock.advance(8_000); // past the first expiry, before the renewed one
    assert.equal(await f.open().tryAcquire("b", 10_000), undefined);
    await a.release();
    assert.equal(await a.renew(10_000), false, "a released lease cannot renew");
    const b = await f.open().tryAcquire("b", 10_000);
    assert.ok(b !== undefined);
    await b.release();
    await b.release(); // idempotent
    const c = await f.open().tryAcquire("c", 10_000);
    assert.ok(c !== undefined);
  });

  test("an expired lease nobody took may still renew", async (f, clock) => {
    const a = await f.open().tryAcquire("a", 1_000);
    assert.ok(a !== undefined);
    clock.advance(5_000);
    assert.equal(await a.renew(1_000), true);
    assert.equal(await f.open().tryAcquire("b", 1_000), undefined);
  });

  test("bad arguments are rejected", async (f) => {
    const lock = f.open();
    await assert.rejects(lock.tryAcquire("", 1_000), /owner is empty/);
    await assert.rejects(lock.tryAcquire("a", 0), /leaseMs 0/);
    await assert.rejects(lock.tryAcquire("a", 1.5), /leaseMs 1.5/);
  });

  Deno.test(`lock contract (${name}): property: never two unexpired holders, model agrees`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(commandArb, { minLength: 1, maxLength: 25 }), async (commands) => {
        const clock = createManualClock(1_700_000_000_000);
        const fixture = await create(clock);
        try {
          await runModel(fixture, clock, commands);
        } finally {
          await fixture.cleanup();
        }
      }),
      { numRuns: options.propertyRuns ?? 100 },
    );
  });
}

type Command =
  | { op: "acquire"; owner: number; leaseMs: number }
  | { op: "renew"; owner: number; leaseMs: number }
  | { op: "release"; owner: number }
  | { op: "advance"; ms: number };

const ownerArb = fc.integer({ min: 0, max: 2 });
const leaseArb = fc.integer({ min: 1, max: 100 });
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant("acquire" as const), owner: ownerArb, leaseMs: leaseArb }),
  fc.record({ op: fc.constant("renew" as const), owner: ownerArb, leaseMs: leaseArb }),
  fc.record({ op: fc.constant("release" as const), owner: ownerArb }),
  fc.record({ op: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 120 }) }),
);

/**
 * Run `commands` sequentially and compare with the model: the lock belongs to the last lease that
 * acquired it, until released; acquire succeeds exactly when that lease is expired or released;
 * renew succeeds exactly for that lease.
 */
async function runModel(fixture: LockFixture, clock: ManualClock, commands: Command[]) {
  const handles = [fixture.open(), fixture.open(), fixture.open()];
  const leases: (LockLease | undefined)[] = [undefined, undefined, undefined];
  // Whether each owner believes it holds the lock: its last acquire or renew succeeded since.
  const believes = [false, false, false];
  let current: { token: string; expiresAtMs: number } | undefined; // model state
  for (const [step, command] of commands.entries()) {
    const at = `step ${step} ${JSON.stringify(command)}`;
    const now = clock.nowMs();
    if (command.op === "advance") {
      clock.advance(command.ms);
    } else if (command.op === "acquire") {
      const free = current === undefined || now >= current.expiresAtMs;
      const lease = await handles[command.owner]!.tryAcquire(
        `owner-${command.owner}`,
        command.leaseMs,
      );
      assert.equal(lease !== undefined, free, `${at}: acquire must succeed iff the lock is free`);
      if (lease !== undefined) {
        assert.equal(lease.expiresAtMs, now + command.leaseMs, at);
        leases[command.owner] = lease;
        believes[command.owner] = true;
        current = { token: lease.token, expiresAtMs: lease.expiresAtMs };
      }
    } else if (command.op === "renew") {
      const lease = leases[command.owner];
      if (lease === undefined) continue;
      const mine = current?.token === lease.token;
      const renewed = await lease.renew(command.leaseMs);
      assert.equal(renewed, mine, `${at}: renew must succeed iff current`);
      believes[command.owner] = renewed;
      if (mine) {
        assert.equal(lease.expiresAtMs, now + command.leaseMs, at);
        current = { token: lease.token, expiresAtMs: lease.expiresAtMs };
      }
    } else {
      const lease = leases[command.owner];
      if (lease === undefined) continue;
      await lease.release();
      believes[command.owner] = false;
      if (current?.token === lease.token) current = undefined;
    }
    // The safety property, from the holders' own view: at most one believes in an unexpired lease.
    const holders = leases.filter((lease, i) =>
      lease !== undefined && believes[i] === true && clock.nowMs() < lease.expiresAtMs
    );
    assert.ok(holders.length <= 1, `${at}: ${holders.length} unexpired holders`);
  }
}
