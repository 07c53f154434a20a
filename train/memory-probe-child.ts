/**
 * The child process of train/memory-probe.ts's probeInChild: one measured training step, printed as one JSON
 * line on stdout. Usage: tsx train/memory-probe-child.ts (node dist/train/memory-probe-child.js compiled) '{"spec": ProbeSpec, "backend": BackendChoice}'
 */
import { initBackend, type BackendChoice } from '../models/engine/backend.js';
import { trackMemory } from '../models/engine/memory-tracker.js';
import { probeStep, type ProbeSpec } from './memory-probe.js';

const { spec, backend } = JSON.parse(process.argv[2] ?? '{}') as { spec: ProbeSpec; backend: BackendChoice };
await initBackend(backend, { quiet: true });
// Installed before the model exists, so the weights and Adam's state are counted too.
const tracker = trackMemory({ watchBytes: spec.model.vocab_size * spec.model.dim * 4 });
const result = await probeStep(spec, tracker);
process.stdout.write(`${JSON.stringify(result)}\n`);
