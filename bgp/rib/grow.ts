/**
 * Growing the RIB's typed arrays: a bigger array of the same kind with the old contents copied in.
 * New arrays are zero-filled by the allocator and their untouched pages cost no memory, which is why
 * the tables encode "none" as 0 rather than filling with -1.
 */
type Grown = Int32Array | Uint32Array | Uint16Array | Uint8Array

export function grown<T extends Grown>(a: T, length: number): T {
  const b = new (a.constructor as new (n: number) => T)(length)
  b.set(a)
  return b
}
