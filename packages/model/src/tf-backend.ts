import path from 'node:path';
import type * as TfNamespace from '@tensorflow/tfjs';

/** The TensorFlow.js namespace (the same API whichever backend runs it). */
export type Tf = typeof TfNamespace;

/** A loaded TensorFlow.js and the name of the backend it runs on (recorded in model cards). */
export interface TfHandle {
  readonly tf: Tf;
  /** e.g. `tensorflow` (tfjs-node), `wasm`, `cpu`. */
  readonly backend: string;
}

let cached: Promise<TfHandle> | undefined;

function tryRequire<T>(name: string): T | undefined {
  try {
    // A plain require: tfjs-node is an optional dependency, so its absence must not break the import graph.
    return require(name) as T;
  } catch {
    return undefined;
  }
}

async function load(log: (message: string) => void, prefer?: string): Promise<TfHandle> {
  if (prefer !== 'wasm' && prefer !== 'cpu') {
    const node = tryRequire<Tf>('@tensorflow/tfjs-node');
    if (node) {
      await node.ready();
      log(`tfjs backend: ${node.getBackend()} (@tensorflow/tfjs-node)`);
      return { tf: node, backend: node.getBackend() };
    }
  }
  const tf = require('@tensorflow/tfjs') as Tf;
  if (prefer !== 'cpu') {
    try {
      const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(prefix: string): void };
      const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
      wasm.setWasmPaths(`${dist}${path.sep}`);
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        log('tfjs backend: wasm (@tensorflow/tfjs + @tensorflow/tfjs-backend-wasm)');
        return { tf, backend: 'wasm' };
      }
    } catch (error) {
      log(`tfjs backend: wasm unavailable (${(error as Error).message}); falling back to cpu`);
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  log('tfjs backend: cpu (@tensorflow/tfjs)');
  return { tf, backend: 'cpu' };
}

/**
 * Load TensorFlow.js once per process: `@tensorflow/tfjs-node` when installed (native TensorFlow),
 * else `@tensorflow/tfjs` on the wasm backend, else on cpu. `TF_BACKEND=wasm|cpu` forces a
 * pure-JS backend. Only training needs this; serving evaluates models without tfjs.
 *
 * @example const { tf, backend } = await loadTf(); // backend goes into the model card
 */
export function loadTf(options: { log?: (message: string) => void; prefer?: string } = {}): Promise<TfHandle> {
  cached ??= load(options.log ?? ((m) => process.stderr.write(`${m}\n`)), options.prefer ?? process.env.TF_BACKEND);
  return cached;
}
