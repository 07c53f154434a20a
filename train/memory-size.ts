import bytes from 'bytes-iec';

/**
 * Memory sizes as people write them: 11GiB (binary, 2^30), 11GB (decimal, 10^9), 11000MiB, 10.5 GiB; case
 * does not matter; a bare number is bytes. bytes-iec rather than `bytes`, which reads GB as 2^30.
 * Returns null for anything else (and for sizes that are not positive).
 */
export function parseMemory(value: string | number): number | null {
  const b = bytes.parse(value, { mode: 'metric' });
  return b !== null && Number.isFinite(b) && b > 0 ? Math.round(b) : null;
}

export const MEMORY_EXAMPLES = 'a size such as 11GiB, 11GB or 11000MiB';

/** Bytes in binary units, e.g. 4.42 GiB. */
export const fmt = (b: number): string => bytes.format(b, { mode: 'binary', decimalPlaces: 2, unitSeparator: ' ' }) ?? `${b} B`;
