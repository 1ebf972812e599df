// Swapping a method of a class for the length of a test (fault injection, watching calls).

/** Replaces `proto[key]` by `make(original)`; the returned function puts the original back. */
export function replaceMethod<P extends object, K extends keyof P>(proto: P, key: K, make: (original: P[K]) => P[K]): () => void {
  const original = proto[key];
  proto[key] = make(original);
  return () => {
    proto[key] = original;
  };
}
