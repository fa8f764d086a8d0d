#!/usr/bin/env node
/**
 * Validates Kubernetes objects against the Kubernetes OpenAPI schemas (the `kubernetes-models`
 * package), since no cluster runs here to do it. Reads a JSON array of { source, manifest } on stdin
 * and writes a JSON array of { source, kind, name, errors } on stdout; exit code 1 when any object has
 * errors. A separate process because kubernetes-models is ESM-only and Jest runs the specs as CommonJS
 * (tools/k8s-manifests.spec.ts calls it).
 */
const input = JSON.parse(
  await new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk) => (text += chunk));
    process.stdin.on('end', () => resolve(text));
    process.stdin.on('error', reject);
  }),
);

/** The kubernetes-models class for an apiVersion and kind: "batch/v1" + "Job" → kubernetes-models/batch/v1 Job. */
async function modelClass(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || !/^([a-z0-9.-]+\/)?v[0-9a-z]+$/.test(apiVersion)) return null;
  try {
    const group = await import(`kubernetes-models/${apiVersion}`);
    return typeof group[kind] === 'function' ? group[kind] : null;
  } catch {
    return null;
  }
}

const results = [];
for (const { source, manifest } of input) {
  const kind = manifest?.kind;
  const name = manifest?.metadata?.name;
  const Model = await modelClass(manifest?.apiVersion, kind);
  let errors = [];
  if (!Model) {
    errors = [`unknown apiVersion/kind: ${manifest?.apiVersion}/${kind}`];
  } else {
    try {
      new Model(manifest).validate();
    } catch (error) {
      errors = [error instanceof Error ? error.message : String(error)];
    }
  }
  results.push({ source, kind, name, errors });
}
process.stdout.write(`${JSON.stringify(results)}\n`);
process.exitCode = results.some((r) => r.errors.length > 0) ? 1 : 0;
