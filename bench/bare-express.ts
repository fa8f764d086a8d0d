/**
 * The bare express baseline for bench/api.ts: same framework and JSON body parsing as the API,
 * answering a fixed prediction-shaped body without validation, features or a model.
 */
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
const answer = {
  request_id: '0',
  probability: 0.5,
  is_revenge_spending: false,
  threshold: 0.5,
  model_version: 'bare',
  variant: 'champion',
};
app.post('/predict', express.json(), (_req, res) => {
  res.json(answer);
});
const server = app.listen(Number(process.env.PORT ?? 8001), () =>
  process.stderr.write(`bare express listening on ${process.env.PORT}\n`),
);
server.keepAliveTimeout = 65_000;
