/** Test helper: a real app over a temporary data folder with demonstration models in its registry. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dataLayout } from '@bolsillo/core';
import { loadModel } from '@bolsillo/model';
import {
  createServing,
  registerDemoChampion,
  type Serving,
  type RoutingConfig,
  type ModelLoader,
} from '@bolsillo/serve';
import { evaluateRegistryOps } from './admin-ops';
import { createApp } from './app';

export interface TestServer {
  readonly dataDir: string;
  readonly registryDir: string;
  readonly serving: Serving;
  readonly app: ReturnType<typeof createApp>;
  readonly champion: string | null;
  readonly logs: string[];
  close(): Promise<void>;
}

export async function testServer(
  options: {
    adminKey?: string | null;
    routing?: RoutingConfig;
    pollMs?: number;
    withChampion?: boolean;
    bodyLimit?: string;
    load?: ModelLoader;
    monitoringPage?: () => string;
  } = {},
): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bolsillo-api-'));
  const registryDir = dataLayout(dataDir).registry;
  const champion = options.withChampion === false ? null : await registerDemoChampion(registryDir, 7);
  const logs: string[] = [];
  const log = (m: string) => logs.push(m);
  const serving = createServing({
    dataDir,
    load: options.load ?? loadModel,
    secret: 'test-secret',
    routing: options.routing,
    pollMs: options.pollMs ?? 0,
    logFlushMs: 50,
    log,
  });
  await serving.start();
  const app = createApp({
    serving,
    registry: evaluateRegistryOps(),
    adminKey: options.adminKey === undefined ? 'test-admin-key' : options.adminKey,
    bodyLimit: options.bodyLimit,
    monitoringPage: options.monitoringPage,
    log,
  });
  return {
    dataDir,
    registryDir,
    serving,
    app,
    champion,
    logs,
    close: async () => {
      await serving.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
