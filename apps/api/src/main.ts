/**
 * The API process: `npx nx serve api` (PORT, default 8000). Wires serving over DATA_DIR, loads the
 * champion named by `registry/aliases.json`, follows alias changes, and listens.
 */
import { ONLINE_STORE_ENV, dataLayout, dirsFromEnv, openOnlineStore, resolveSecret } from '@bolsillo/core';
import { loadModel } from '@bolsillo/model';
import { renderMonitoringPage } from '@bolsillo/monitor';
import { configFromEnv, createServing } from '@bolsillo/serve';
import { evaluateRegistryOps } from './admin-ops';
import { createApp } from './app';

async function main(): Promise<void> {
  const log = (message: string) => process.stderr.write(`[api] ${message}\n`);
  const config = configFromEnv(process.env);
  const { dataDir } = dirsFromEnv();
  const store = await openOnlineStore({
    url: process.env[ONLINE_STORE_ENV],
    embeddedDir: dataLayout(dataDir).onlineEmbedded,
  });
  const serving = createServing({
    store,
    dataDir,
    load: loadModel,
    secret: resolveSecret(process.env, log),
    routing: { challengerPercent: config.challengerPercent, shadow: config.shadow },
    pollMs: config.pollMs,
    logFlushMs: config.logFlushMs,
    log,
  });
  await serving.start();
  const champion = serving.host.slot('champion');
  if (!champion)
    log(
      `no champion loaded from ${serving.registryDir} yet: /ready answers 503 and /predict 503 until one is promoted`,
    );
  const app = createApp({
    serving,
    registry: evaluateRegistryOps(),
    adminKey: config.adminKey,
    bodyLimit: config.bodyLimit,
    monitoringPage: () => renderMonitoringPage(dataDir),
    log,
  });
  const server = app.listen(config.port, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.port;
    log(`listening on http://localhost:${port} (Swagger UI: http://localhost:${port}/docs)`);
    log(
      `data: ${serving.dataDir}; model: ${champion ? `${champion.version} (${champion.model.card.family})` : 'none'}; backend: plain Float32Array runtime (no tfjs on the serving path)`,
    );
    log(
      `online store: ${store.backend}${store.backend === 'redis' ? ` (${ONLINE_STORE_ENV})` : ` in ${dataLayout(dataDir).onlineEmbedded}`}`,
    );
    log(
      `routing: challenger ${config.challengerPercent}%${config.shadow ? ', shadow mode' : ''}; admin routes ${config.adminKey ? 'enabled' : 'disabled (BOLSILLO_ADMIN_KEY unset)'}`,
    );
  });
  server.keepAliveTimeout = 65_000;
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    log(`${signal}: closing (flushing the prediction log)`);
    server.close();
    void serving.close().finally(() => process.exit(0));
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`[api] failed to start: ${(error as Error).message}\n`);
  process.exit(1);
});
