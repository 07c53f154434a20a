/** WebGPU through Dawn (the `webgpu` npm package): set up in step 5 of the engine work. */
export async function initWebgpu(_opts: { requireHardware: boolean }): Promise<{ ok: true; detail: string } | { ok: false; why: string }> {
  return { ok: false, why: 'the webgpu backend is not wired up yet' };
}

export interface WebgpuProbe {
  adapter: null | { vendor: string; architecture: string; device: string; description: string; isFallback: boolean };
  lines: string[];
  hints: string[];
}

export async function probeWebgpu(): Promise<WebgpuProbe> {
  return { adapter: null, lines: ['not probed yet'], hints: [] };
}
