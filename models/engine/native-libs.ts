import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/** A shared library a backend needs, whether the dynamic linker finds it, and whether it loads. */
export interface LibCheck {
  soname: string;
  purpose: string;
  /** Where the linker cache or LD_LIBRARY_PATH has it. */
  path?: string;
  loads: boolean;
  /** The loader's message when it does not load (a missing dependency names itself here). */
  error?: string;
  /** Other versions of the same library that are installed (e.g. libcudart.so.13 when .so.11.0 is needed). */
  otherVersions: string[];
}

/**
 * What @tensorflow/tfjs-node-gpu 4.22 (libtensorflow 2.9.1, built for CUDA 11.2 and cuDNN 8.1) loads at
 * startup, besides its own libtensorflow in the package's deps/lib.
 */
export const CUDA_LIBS: readonly { soname: string; purpose: string }[] = [
  { soname: 'libcuda.so.1', purpose: 'NVIDIA driver' },
  { soname: 'libcudart.so.11.0', purpose: 'CUDA 11 runtime' },
  { soname: 'libcublas.so.11', purpose: 'cuBLAS (CUDA 11)' },
  { soname: 'libcublasLt.so.11', purpose: 'cuBLASLt (CUDA 11)' },
  { soname: 'libcufft.so.10', purpose: 'cuFFT (CUDA 11)' },
  { soname: 'libcurand.so.10', purpose: 'cuRAND (CUDA 11)' },
  { soname: 'libcusolver.so.11', purpose: 'cuSOLVER (CUDA 11)' },
  { soname: 'libcusparse.so.11', purpose: 'cuSPARSE (CUDA 11)' },
  { soname: 'libcudnn.so.8', purpose: 'cuDNN 8' },
];

/** The linker cache (`ldconfig -p`) as soname → path; empty when ldconfig is not there. */
export function linkerCache(): Map<string, string> {
  const cache = new Map<string, string>();
  for (const bin of ['ldconfig', '/sbin/ldconfig', '/usr/sbin/ldconfig']) {
    try {
      const out = execFileSync(bin, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      for (const line of out.split('\n')) {
        const m = /^\s*(\S+) \(([^)]*)\) => (\S+)/.exec(line);
        // Keep the 64-bit entry when both word sizes are listed.
        if (m && (!cache.has(m[1]) || m[2].includes('x86-64'))) cache.set(m[1], m[3]);
      }
      return cache;
    } catch {
      // try the next location
    }
  }
  return cache;
}

/**
 * Checks one library: found through LD_LIBRARY_PATH or the linker cache, and loadable with its dependencies.
 * Loading uses process.dlopen, which calls dlopen(3) and then looks for a Node addon's registration: a plain
 * library that loads fails only at that second step ("did not self-register"), which counts as loaded.
 */
export function checkLibrary(soname: string, purpose: string, cache = linkerCache(), file?: string): LibCheck {
  const fromEnv = (process.env.LD_LIBRARY_PATH ?? '')
    .split(':')
    .filter(Boolean)
    .map((dir) => path.join(dir, soname))
    .find((p) => existsSync(p));
  const found = file ?? fromEnv ?? cache.get(soname);
  const base = soname.replace(/\.so.*$/, '.so');
  const otherVersions = [...cache.keys()].filter((k) => k.startsWith(`${base}.`) && k !== soname).sort();
  const target = file ?? soname;
  if (file && !existsSync(file)) return { soname, purpose, loads: false, error: `${file} does not exist`, otherVersions };
  try {
    process.dlopen({ exports: {} } as NodeJS.Module, target);
    return { soname, purpose, path: found, loads: true, otherVersions };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/did not self-register/.test(message)) return { soname, purpose, path: found, loads: true, otherVersions };
    return { soname, purpose, path: found, loads: false, error: message.split('\n')[0], otherVersions };
  }
}
