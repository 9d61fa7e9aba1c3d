/**
 * cyrb53 (public domain, github.com/bryc/code): a fast 53-bit string hash, exact in a double.
 * Never 0, which marks an empty slot below.
 */
export function fingerprint(text: string): number {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0) || 1;
}

/**
 * A set of fingerprints in one Float64Array (open addressing, linear probing): 16 bytes per
 * value at most, where a Set<string> of a million ids costs about 70 MB. A hit means "maybe
 * seen": two values may share a fingerprint, so callers confirm hits against the values.
 */
export class FingerprintSet {
  private slots = new Float64Array(1024);
  private size = 0;

  /** Adds the fingerprint; false when it was already there. */
  add(value: number): boolean {
    // Half full at most, so probes stay short; growing fourfold leaves less garbage behind
    // (every old array waits for a major GC) than doubling would.
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    return this.insert(this.slots, value);
  }

  private insert(slots: Float64Array, value: number): boolean {
    const mask = slots.length - 1;
    for (let i = value % slots.length; ; i = (i + 1) & mask) {
      const slot = slots[i];
      if (slot === value) return false;
      if (slot === 0) {
        slots[i] = value;
        if (slots === this.slots) this.size++;
        return true;
      }
    }
  }

  private grow(): void {
    const old = this.slots;
    const next = new Float64Array(old.length * 4);
    for (const value of old) if (value !== 0) this.insert(next, value);
    this.slots = next;
  }
}
