// Types for the two pure-JS compression libraries that ship none (only what Weir calls).

declare module 'snappyjs' {
  /** Raw snappy (no framing). Returns the type it was given: a Buffer for a Buffer. */
  export function compress(input: Buffer): Buffer;
  export function uncompress(input: Buffer, maxLength?: number): Buffer;
}

declare module 'lz4js' {
  /** Compresses one LZ4 block into `dst`; returns its length, 0 when it does not compress. */
  export function compressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    hashTable: Uint32Array,
  ): number;
  /** Decodes one LZ4 block into `dst` at `dIndex`; returns the index after the last byte. */
  export function decompressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    dIndex: number,
  ): number;
  /** Decodes an LZ4 frame into `dst` (large enough); returns the bytes written. */
  export function decompressFrame(src: Uint8Array, dst: Uint8Array): number;
}
