/**
 * Shifts this process's wall clock (`Date.now`, `new Date()`) by `skewMs` (negative: the clock
 * stepped back), as a host whose clock was set back would see it. Test harness only.
 *
 * @module
 */

/** Installs the skew; 0 leaves the clock alone. */
export function installClockSkew(skewMs: number): void {
  if (!Number.isFinite(skewMs) || skewMs === 0) return;
  const realNow = Date.now;
  const RealDate = Date;
  Date.now = () => realNow() + skewMs;
  // `new Date()` without arguments reads the clock too.
  globalThis.Date = new Proxy(RealDate, {
    construct(target, args) {
      return args.length === 0 ? new target(realNow() + skewMs) : new target(...(args as []));
    },
  });
}
