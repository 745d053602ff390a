// Promise.all rejects at the first failure while its other promises keep running; a caller that
// then undoes its work (unmounts a rootfs, removes a bundle) does it beneath steps still
// reading there, which fails with EBUSY and leaks. settleAll waits for every step to finish,
// then throws the first failure (in argument order) or returns every value.
export async function settleAll<T extends readonly unknown[]>(
  steps: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const results = await Promise.allSettled(steps as readonly Promise<unknown>[]);
  const values: unknown[] = [];
  for (const r of results) {
    if (r.status === "rejected") throw r.reason;
    values.push(r.value);
  }
  return values as unknown as T;
}
