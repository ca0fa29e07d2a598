/** S3's flexible checksums, base64 of the big-endian digest as the SDK sends them in `x-amz-checksum-<alg>`. */
import { createHash } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';

export const CHECKSUM_ALGORITHMS = ['CRC32', 'CRC32C', 'CRC64NVME', 'SHA1', 'SHA256'] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[i] = c >>> 0;
  }
  return table;
})();

function crc32c(data: Buffer): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = (CRC32C_TABLE[(crc ^ (data[i] as number)) & 0xff] as number) ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

// CRC-64/NVME, reflected polynomial 0x9a6c9329ac4bc9b5; two 32-bit halves keep it off BigInt in the loop.
const CRC64_TABLE_HI = new Uint32Array(256);
const CRC64_TABLE_LO = new Uint32Array(256);
(() => {
  const poly = 0x9a6c9329ac4bc9b5n;
  for (let i = 0; i < 256; i++) {
    let c = BigInt(i);
    for (let k = 0; k < 8; k++) c = c & 1n ? poly ^ (c >> 1n) : c >> 1n;
    CRC64_TABLE_HI[i] = Number(c >> 32n);
    CRC64_TABLE_LO[i] = Number(c & 0xffffffffn);
  }
})();

function crc64nvme(data: Buffer): Buffer {
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  for (let i = 0; i < data.length; i++) {
    const idx = (lo ^ (data[i] as number)) & 0xff;
    // (crc >> 8) ^ table[idx], on the two halves.
    const shiftedLo = ((lo >>> 8) | ((hi & 0xff) << 24)) >>> 0;
    const shiftedHi = hi >>> 8;
    lo = (shiftedLo ^ (CRC64_TABLE_LO[idx] as number)) >>> 0;
    hi = (shiftedHi ^ (CRC64_TABLE_HI[idx] as number)) >>> 0;
  }
  const out = Buffer.alloc(8);
  out.writeUInt32BE((hi ^ 0xffffffff) >>> 0, 0);
  out.writeUInt32BE((lo ^ 0xffffffff) >>> 0, 4);
  return out;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

export function checksumBytes(algorithm: ChecksumAlgorithm, data: Buffer): Buffer {
  switch (algorithm) {
    case 'CRC32':
      return u32(zlibCrc32(data));
    case 'CRC32C':
      return u32(crc32c(data));
    case 'CRC64NVME':
      return crc64nvme(data);
    case 'SHA1':
      return createHash('sha1').update(data).digest();
    case 'SHA256':
      return createHash('sha256').update(data).digest();
  }
}

export function checksum(algorithm: ChecksumAlgorithm, data: Buffer): string {
  return checksumBytes(algorithm, data).toString('base64');
}

export function headerName(algorithm: ChecksumAlgorithm): string {
  return `x-amz-checksum-${algorithm.toLowerCase()}`;
}

/** `ChecksumCRC32`, the XML / output member name. */
export function memberName(algorithm: ChecksumAlgorithm): string {
  return `Checksum${algorithm}`;
}

export function parseAlgorithm(value: unknown): ChecksumAlgorithm | undefined {
  const upper = String(value ?? '').toUpperCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(upper) ? (upper as ChecksumAlgorithm) : undefined;
}

export function md5Hex(data: Buffer): string {
  return createHash('md5').update(data).digest('hex');
}
