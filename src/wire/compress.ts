/**
 * zlib for `(4)` compress fields and `_compressed_payload`. Injected into the codec so tests and
 * embedders may replace it; the default is node:zlib.
 */
import { deflateSync, inflateSync } from 'node:zlib';

/** Inflate `data`, refusing output beyond `maxOutput` bytes (a zip bomb must not allocate more). Throws on bad data. */
export type Decompressor = (data: Uint8Array, maxOutput: number) => Uint8Array;
export type Compressor = (data: Uint8Array) => Uint8Array;

// The *Sync ban exists because file and process calls block the loop for unbounded time. These are
// pure in-memory transforms of at most 256 KiB input and output (maxOutputLength enforces it), on a
// rare path (Heartbeat compresses only messages above compression_threshold): bounded CPU, no I/O, and
// the synchronous receive path keeps packet order without an async hop.
export const zlibInflate: Decompressor = (data, maxOutput) =>
  // eslint-disable-next-line no-restricted-syntax -- bounded in-memory inflate, see above
  inflateSync(data, { maxOutputLength: maxOutput });

// eslint-disable-next-line no-restricted-syntax -- bounded in-memory deflate, see above
export const zlibDeflate: Compressor = (data) => deflateSync(data);
